#!/usr/bin/env node
import { main } from '../cli/main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`ferry: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
