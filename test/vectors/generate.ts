/**
 * Writes the conformance vectors: `npx tsx test/vectors/generate.ts`.
 * Run it only for a deliberate format change, and say so in the commit.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CASES, computeVectorFile, LARGE_CASES, type VectorCase } from './compute.js';

const here = path.dirname(fileURLToPath(import.meta.url));

async function write(name: string, cases: VectorCase[]): Promise<void> {
  const file = path.join(here, name);
  await writeFile(file, `${JSON.stringify(await computeVectorFile(cases), null, 1)}\n`);
  console.log(`wrote ${cases.length} vectors to ${path.relative(process.cwd(), file)}`);
}

await write('vectors.json', CASES);
await write('large-vectors.json', LARGE_CASES);
