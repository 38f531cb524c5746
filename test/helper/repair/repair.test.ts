/**
 * Repair through the helper, on real storage servers: lost shares (deleted
 * files, stopped servers) are regenerated from any k good ones onto servers
 * that hold nothing of the file, byte-identical to the originals; too few
 * shares is a clean NOT_ENOUGH_SHARES; repairs are idempotent and refuse to
 * race an upload.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyShareBytes } from '../../../core/share-check.js';
import { parseReadCap } from '../../../core/capability.js';
import { putFile } from '../../support/gateway-fixture.js';
import { startGrid, type TestGrid } from '../../support/grid.js';
import { HelperCalls } from '../../support/helper-client.js';
import { checkBody, prepare } from '../../support/prepare.js';
import { deleteShares, download, holdings, readBack, RepairCalls, shareBytes, verifyCapText, type Json } from '../../support/repair.js';

let grid: TestGrid | undefined;
afterEach(async () => {
  await grid?.close();
  grid = undefined;
});

const SIZE = 5 * 64 * 1024 + 777; // 6 segments of 64 KiB

interface RepairResult {
  repaired: number[];
  shareMap: Record<string, string[]>;
  happiness: number;
  healthy: boolean;
  pushed: number[];
  preexisting: number[];
  corrupt: { shnum: number; server: string; reason: string }[];
  leases: { renewed: string[]; failed: unknown[] };
  uebHash: string;
}

async function repairAndWait(r: RepairCalls, body: Json): Promise<Json> {
  const started = await r.repair(body);
  expect(started.status, JSON.stringify(started.json)).toBe(202);
  return r.waitFor(String(started.json.storageIndex));
}

describe('repair', () => {
  it('restores 1 deleted share: same bytes as before, on the server that lost it, and the file reads back', async () => {
    grid = await startGrid();
    const stored = await putFile(grid, randomBytes(SIZE));
    const si = stored.f.si;
    const before = await shareBytes(grid, si);
    await deleteShares(grid, si, [4]);
    const r = new RepairCalls(grid.helper.url);

    const check = await r.checkFile({ cap: stored.cap });
    expect(check.status).toBe(200);
    expect(check.json).toMatchObject({ storageIndex: si, k: 3, n: 10, happy: 7, healthy: false, recoverable: true, missing: [4], happiness: 9, verified: 'cheap' });

    const job = await repairAndWait(r, { cap: stored.cap });
    expect(job.state, String(job.lastError)).toBe('done');
    const result = job.result as RepairResult;
    expect(result.repaired).toEqual([4]);
    expect(result.happiness).toBe(10);
    expect(result.healthy).toBe(true);
    expect(result.leases.renewed).toHaveLength(10);
    expect(result.uebHash).toBe(Buffer.from(parseReadCap(stored.cap).uebHash).toString('hex'));

    const after = await shareBytes(grid, si);
    expect(after.get(4)!.equals(before.get(4)!)).toBe(true);
    const held = await holdings(grid, si);
    expect(new Set([...held.values()].flat()).size).toBe(10);
    expect((await readBack(grid, stored)).equals(stored.plain)).toBe(true);
    expect((await r.checkFile({ cap: stored.cap, verify: true })).json).toMatchObject({ healthy: true, happiness: 10, missing: [], corrupt: [], verified: 'full' });
  });

  it('restores 7 deleted shares from the only k left, each on a distinct server, from a verify-cap alone', async () => {
    grid = await startGrid();
    const stored = await putFile(grid, randomBytes(SIZE));
    const si = stored.f.si;
    const before = await shareBytes(grid, si);
    await deleteShares(grid, si, [0, 1, 2, 3, 5, 6, 8]); // leaves 4, 7, 9: every segment must be decoded
    const r = new RepairCalls(grid.helper.url);
    const vcap = verifyCapText(stored);
    expect((await r.checkFile({ cap: vcap })).json).toMatchObject({ healthy: false, recoverable: true, goodShares: 3, missing: [0, 1, 2, 3, 5, 6, 8] });

    const job = await repairAndWait(r, { cap: vcap });
    expect(job.state, String(job.lastError)).toBe('done');
    const result = job.result as RepairResult;
    expect(result.repaired).toEqual([0, 1, 2, 3, 5, 6, 8]);
    expect(result.preexisting).toEqual([4, 7, 9]);
    expect(result.happiness).toBe(10);

    const after = await shareBytes(grid, si);
    for (let s = 0; s < 10; s++) {
      expect(after.get(s)!.equals(before.get(s)!), `share ${s}`).toBe(true);
      verifyShareBytes(after.get(s)!, parseReadCap(stored.cap).uebHash, s);
    }
    const held = await holdings(grid, si);
    expect([...held.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(new Set([...held.values()].flat()).size).toBe(10);
    expect([...held.values()].every((servers) => servers.length === 1)).toBe(true);
    // Shares 0-2 (read first) are all regenerated ones now.
    expect((await readBack(grid, stored)).equals(stored.plain)).toBe(true);
    expect((await download(grid.helper.url, stored.cap)).equals(stored.plain)).toBe(true);
  });

  it('replaces the shares of stopped servers on servers that hold nothing of the file', async () => {
    grid = await startGrid({ servers: 13 });
    const stored = await putFile(grid, randomBytes(SIZE));
    const si = stored.f.si;
    const initial = await holdings(grid, si);
    expect(new Set([...initial.values()].flat())).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    for (const i of [1, 5, 8]) await grid.stopStorage(i);
    const r = new RepairCalls(grid.helper.url);
    const job = await repairAndWait(r, { cap: stored.cap });
    expect(job.state, String(job.lastError)).toBe('done');
    expect((job.result as RepairResult).repaired).toEqual([1, 5, 8]);
    const held = await holdings(grid, si);
    expect(new Set([...held.values()].flat())).toEqual(new Set([0, 2, 3, 4, 6, 7, 9, 10, 11, 12]));
    expect((await readBack(grid, stored)).equals(stored.plain)).toBe(true);
  });

  it('with k-1 shares left fails cleanly with NOT_ENOUGH_SHARES, and check says unrecoverable', async () => {
    grid = await startGrid();
    const stored = await putFile(grid, randomBytes(SIZE));
    await deleteShares(grid, stored.f.si, [0, 1, 2, 3, 4, 5, 6, 7]);
    const r = new RepairCalls(grid.helper.url);
    const check = await r.checkFile({ cap: stored.cap });
    expect(check.status).toBe(200);
    expect(check.json).toMatchObject({ healthy: false, recoverable: false, goodShares: 2, missing: [0, 1, 2, 3, 4, 5, 6, 7] });
    const job = await repairAndWait(r, { cap: stored.cap });
    expect(job.state).toBe('failed');
    expect(job.result).toBeUndefined();
    expect(String(job.lastError)).toMatch(/not enough shares to repair: found 2 good shares of the 3 needed/);
    // Nothing was written anywhere.
    expect([...(await holdings(grid, stored.f.si)).keys()].sort()).toEqual([8, 9]);
  });

  it('is idempotent: a healthy file is left as it is (leases renewed), a second request joins the running repair', async () => {
    grid = await startGrid();
    const stored = await putFile(grid, randomBytes(SIZE));
    const r = new RepairCalls(grid.helper.url);
    const [first, second] = await Promise.all([r.repair({ cap: stored.cap }), r.repair({ cap: verifyCapText(stored) })]);
    expect([first.status, second.status]).toEqual([202, 202]);
    expect([first.json.created, second.json.created].sort()).toEqual([false, true]);
    expect(second.json.statusPath).toBe(`/helper/v1/jobs/${stored.f.si}`);
    const job = await r.waitFor(stored.f.si);
    expect(job.state).toBe('done');
    expect(job.kind).toBe('repair');
    const result = job.result as RepairResult;
    expect(result.repaired).toEqual([]);
    expect(result.happiness).toBe(10);
    expect(result.leases.renewed).toHaveLength(10);
    // The same file can still be "uploaded": the helper answers have-it from the repair's result.
    const h = new HelperCalls(grid.helper.url);
    const again = await h.check(checkBody(stored.f));
    expect(again.status, JSON.stringify(again.json)).toBe(200);
    expect(again.json.status).toBe('have-it');
  });

  it('refuses to repair a file while its upload is in progress (409), and bad capabilities (400)', async () => {
    grid = await startGrid();
    const h = new HelperCalls(grid.helper.url);
    const f = await prepare(randomBytes(SIZE));
    expect((await h.check(checkBody(f))).json.status).toBe('send');
    const r = new RepairCalls(grid.helper.url);
    const { formatReadCap } = await import('../../../core/capability.js');
    const cap = formatReadCap({ key: f.key, uebHash: new Uint8Array(32), k: 3, n: 10, size: SIZE });
    const refused = await r.repair({ cap });
    expect(refused.status).toBe(409);
    expect(refused.json.error).toBe('CONFLICT');
    expect((await r.repair({ cap: 'ferry-chk:nonsense' })).status).toBe(400);
    expect((await r.checkFile({ cap: 'nope' })).json.error).toBe('INVALID_CAPABILITY');
    expect((await r.repair({ cap, extra: 1 })).status).toBe(400);
  });
});
