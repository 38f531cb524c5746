import v8 from 'node:v8';
import { loadSodium } from '../core/crypto/sodium.js';
import { v8FlagUnlessGiven } from '../runtime/v8-flag.js';
import { enableGcPacing } from './gc-pacer.js';

/**
 * undici parses HTTP with llhttp compiled to WASM. V8 tiers a hot WASM
 * function up to TurboFan in the background, and llhttp's parser function
 * got there a moment into the first hashing pass of `ferry put`: a ~1.8 s
 * compile whose zone memory (~42 MB) was the client's peak RSS. A put parses
 * a few dozen small responses, for which the baseline code is plenty; only
 * libsodium's BLAKE2b needs the optimised code. V8 reads this budget when a
 * module is instantiated, so libsodium is instantiated first, with V8's own.
 */
export const WASM_TIERING_BUDGET = 2_000_000_000;

/** The budget flag, or undefined when the process was started with its own. */
export function wasmBudgetFlag(execArgv: readonly string[]): string | undefined {
  return v8FlagUnlessGiven('--wasm-tiering-budget', WASM_TIERING_BUDGET, execArgv);
}

/**
 * For a process whose work is one upload (the CLI's `put`), before it:
 * WASM instantiated from here on (llhttp) stays on baseline code, and dead
 * cipher output is collected every few MiB (gc-pacer.ts). Process-wide,
 * hence never called by the library itself.
 */
export async function tuneUploadProcess(execArgv: readonly string[] = process.execArgv): Promise<void> {
  await loadSodium();
  const flag = wasmBudgetFlag(execArgv);
  if (flag) v8.setFlagsFromString(flag);
  enableGcPacing();
}
