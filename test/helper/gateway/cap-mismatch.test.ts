/**
 * A capability repeats k, n and size; when they disagree with the UEB its
 * hash names, the capability is wrong (400 INVALID_CAPABILITY, docs/protocol.md),
 * whatever the disagreement and however many shares are left, and no share is
 * blamed for it.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReadCap, parseReadCap, type ReadCap } from '../../../core/capability.js';
import { startGrid, type TestGrid } from '../../support/grid.js';
import { corruptionReports, putFile, shareFiles, type StoredFile } from '../../support/gateway-fixture.js';

let grid: TestGrid;
let file: StoredFile;
let cap: ReadCap;

beforeAll(async () => {
  grid = await startGrid();
  // 64 KiB segments: the gateway's default layout guesses (1 MiB) miss, so the UEB is found through the header.
  file = await putFile(grid, randomBytes(200_001));
  cap = parseReadCap(file.cap);
});
afterAll(async () => grid?.close());

async function get(c: ReadCap) {
  const res = await fetch(`${grid.helper.url}/uri/${formatReadCap(c)}`);
  return { status: res.status, body: (await res.json().catch(() => ({}))) as { error?: string; message?: string } };
}

describe('gateway: a capability that disagrees with its UEB', () => {
  it.each([
    ['k smaller', { k: 2 }],
    ['k = 1', { k: 1 }],
    ['k larger', { k: 4 }],
    ['k = n', { k: 10 }],
    ['n larger', { n: 11 }],
    ['n smaller', { n: 9 }],
    ['size larger', { size: 200_002 }],
    ['size smaller', { size: 200_000 }],
    ['k and n', { k: 5, n: 12 }],
  ])('%s: 400 INVALID_CAPABILITY', async (_what, change) => {
    const res = await get({ ...cap, ...change });
    expect(res).toMatchObject({ status: 400, body: { error: 'INVALID_CAPABILITY' } });
    expect(res.body.message).toMatch(/k=3 n=10 size=200001/);
  });

  it('blames no share for it', async () => {
    expect(grid.helper.helper.gateway.stats.corruptionReports).toBe(0);
    for (let i = 0; i < grid.storage.length; i++) expect(await corruptionReports(grid, i)).toEqual([]);
  });

  it('is still 400 when fewer shares remain than the capability’s k, and the file still reads with the right one', async () => {
    const other = await putFile(grid, randomBytes(150_000));
    // Keep shares 0..4 (5 distinct: enough for k = 3, not for a cap claiming k = 6), before the gateway first looks.
    for (const f of await shareFiles(grid, other.f.si)) if (f.shnum >= 5) await rm(f.file);
    expect(await get({ ...parseReadCap(other.cap), k: 6 })).toMatchObject({ status: 400, body: { error: 'INVALID_CAPABILITY' } });
    const good = await fetch(`${grid.helper.url}/uri/${other.cap}`);
    expect(good.status).toBe(200);
    expect(Buffer.from(await good.arrayBuffer()).equals(other.plain)).toBe(true);
  });
});
