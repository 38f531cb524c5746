/**
 * The conformance vectors are Ferry's real output, not only what core's
 * pieces compute in memory: files uploaded through a real helper to real
 * storage servers are stored as exactly the published shares and answer
 * with the published UEB hash.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGrid, type TestGrid } from '../support/grid.js';
import { shareFiles } from '../support/gateway-fixture.js';
import { HelperCalls } from '../support/helper-client.js';
import { prepare } from '../support/prepare.js';
import { convergenceSecretOf, plaintextOf, type VectorFile } from '../vectors/compute.js';

const vectors = (JSON.parse(await readFile(new URL('../vectors/vectors.json', import.meta.url), 'utf8')) as VectorFile).vectors;
// Every vector a 10-server grid can hold with one share per server.
const uploadable = vectors.filter((v) => v.n <= 10);

let grid: TestGrid;
beforeAll(async () => {
  grid = await startGrid();
});
afterAll(async () => grid?.close());

describe('conformance vectors through a real helper', () => {
  it.each(uploadable.map((v) => [v.name, v] as const))('%s: the stored shares are the published ones', async (_name, v) => {
    const f = await prepare(await plaintextOf(v.size), { k: v.k, n: v.n, maxSegmentSize: v.maxSegmentSize }, new Uint8Array(convergenceSecretOf()));
    expect(f.si).toBe(v.storageIndex);
    const h = new HelperCalls(grid.helper.url);
    await h.upload(f, Math.max(v.k, Math.min(7, v.n))); // k <= happy <= n
    const job = await h.waitFor(f.si);
    expect(job.state).toBe('done');
    expect((job.result as { uebHash: string }).uebHash).toBe(v.uebHash);
    const stored = await shareFiles(grid, f.si);
    const digests = new Map<number, string>();
    for (const s of stored) digests.set(s.shnum, createHash('sha256').update(await readFile(s.file)).digest('hex'));
    expect([...digests.keys()].sort((a, b) => a - b)).toEqual(v.shareSha256.map((_, i) => i));
    expect(v.shareSha256.map((_, i) => digests.get(i))).toEqual(v.shareSha256);
  });
});
