/**
 * Corrupt shares: a quick check cannot see a flipped byte in a block,
 * check --verify finds it (and reports it to its server), and repair
 * "replaces" it by regenerating that share number onto another server (the
 * storage API cannot delete a complete share).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { formatReadCap, parseReadCap } from '../../../core/capability.js';
import { verifyShareBytes } from '../../../core/share-check.js';
import { corruptBlock, corruptionReports, putFile, scramble, shareFiles } from '../../support/gateway-fixture.js';
import { startGrid, type TestGrid } from '../../support/grid.js';
import { deleteShares, download, holdings, readBack, RepairCalls, shareBytes, type Json } from '../../support/repair.js';

let grid: TestGrid | undefined;
afterEach(async () => {
  await grid?.close();
  grid = undefined;
});

const SIZE = 5 * 64 * 1024 + 777;

interface Result {
  repaired: number[];
  corrupt: { shnum: number; server: string; reason: string }[];
  shareMap: Record<string, string[]>;
  happiness: number;
}

async function fileOf(g: TestGrid, si: string, shnum: number) {
  const f = (await shareFiles(g, si)).find((x) => x.shnum === shnum);
  if (!f) throw new Error(`no share ${shnum}`);
  return f;
}

describe('corrupt shares', () => {
  it('check --verify finds a flipped block byte that the quick check cannot; repair replaces the share', async () => {
    grid = await startGrid({ servers: 11 });
    const stored = await putFile(grid, randomBytes(SIZE));
    const si = stored.f.si;
    const original = await shareBytes(grid, si);
    const bad = await fileOf(grid, si, 4);
    await corruptBlock(bad.file, stored, 2);
    const badServer = grid.storage[bad.server]!.serverId;
    const spare = grid.storage.find((s) => s && !Object.values(stored.shareMap).flat().includes(s.serverId))!.serverId;
    const r = new RepairCalls(grid.helper.url);

    const quick = (await r.checkFile({ cap: stored.cap })).json;
    expect(quick).toMatchObject({ verified: 'cheap', healthy: true, corrupt: [] });

    const full = (await r.checkFile({ cap: stored.cap, verify: true })).json;
    expect(full).toMatchObject({ verified: 'full', healthy: false, recoverable: true, missing: [4], goodShares: 9, happiness: 9 });
    expect(full.corrupt).toEqual([{ shnum: 4, server: badServer, reason: expect.stringMatching(/(block|leaf) 2\b/), reported: true }]);
    expect((full.servers as Record<string, Json>)[badServer]).toMatchObject({ shares: [], corrupt: [4] });
    const reports = await corruptionReports(grid, bad.server);
    expect(reports).toEqual([expect.objectContaining({ storageIndex: si, shareNumber: 4, reason: expect.stringMatching(/^ferry check: .*(block|leaf) 2\b/) })]);

    // The helper remembers what the check found: a plain repair replaces the share.
    const started = await r.repair({ cap: stored.cap });
    expect(started.status).toBe(202);
    const job = await r.waitFor(si);
    expect(job.state, String(job.lastError)).toBe('done');
    const result = job.result as Result;
    expect(result.repaired).toEqual([4]);
    expect(result.corrupt).toEqual([expect.objectContaining({ shnum: 4, server: badServer })]);
    expect(result.shareMap['4']).toEqual([spare]); // the server that held nothing of the file
    expect(result.happiness).toBe(10);
    const copies = (await shareFiles(grid, si)).filter((f) => f.shnum === 4);
    expect(copies).toHaveLength(2); // the bad copy stays until its lease ends
    const good = copies.find((c) => c.server !== bad.server)!;
    expect((await shareBytes(grid, si)).size).toBe(10);
    const { readFile } = await import('node:fs/promises');
    expect((await readFile(good.file)).equals(original.get(4)!)).toBe(true);

    const after = (await r.checkFile({ cap: stored.cap, verify: true })).json;
    expect(after).toMatchObject({ healthy: true, happiness: 10, missing: [] });
    expect(after.corrupt).toEqual([expect.objectContaining({ shnum: 4, server: badServer })]);
    expect((await readBack(grid, stored, [bad.server])).equals(stored.plain)).toBe(true);
    expect((await download(grid.helper.url, stored.cap)).equals(stored.plain)).toBe(true);
  });

  it('repair --verify finds and replaces bad copies by itself: a bad header and a bad block', async () => {
    grid = await startGrid({ servers: 12 });
    const stored = await putFile(grid, randomBytes(SIZE));
    const si = stored.f.si;
    const header = await fileOf(grid, si, 2);
    await scramble(header.file, 20, 24, 0xff); // header: the quick check sees it
    const block = await fileOf(grid, si, 7);
    await corruptBlock(block.file, stored, 5); // tail block: only a full check sees it
    const r = new RepairCalls(grid.helper.url);
    await r.repair({ cap: stored.cap, verify: true });
    const job = await r.waitFor(si);
    expect(job.state, String(job.lastError)).toBe('done');
    const result = job.result as Result;
    expect(result.repaired).toEqual([2, 7]);
    expect(result.corrupt.map((c) => c.shnum)).toEqual([2, 7]);
    expect(result.happiness).toBe(10);
    const uebHash = parseReadCap(stored.cap).uebHash;
    for (const f of await shareFiles(grid, si)) {
      if (f.server === header.server || f.server === block.server) continue;
      const { readFile } = await import('node:fs/promises');
      verifyShareBytes(await readFile(f.file), uebHash, f.shnum);
    }
    expect((await corruptionReports(grid, header.server)).map((x) => x.shareNumber)).toEqual([2]);
    expect((await corruptionReports(grid, block.server)).map((x) => x.shareNumber)).toEqual([7]);
  });

  it('a wrong capability (right storage index, another UEB hash) accuses no server', async () => {
    grid = await startGrid();
    const stored = await putFile(grid, randomBytes(SIZE));
    const cap = parseReadCap(stored.cap);
    const wrong = formatReadCap({ ...cap, uebHash: randomBytes(32) });
    const r = new RepairCalls(grid.helper.url);
    const check = (await r.checkFile({ cap: wrong, verify: true })).json;
    expect(check).toMatchObject({ healthy: false, recoverable: false, goodShares: 0, warning: expect.stringMatching(/right capability/) });
    expect((check.corrupt as Json[]).every((c) => c.reported === false)).toBe(true);
    await r.repair({ cap: wrong });
    const job = await r.waitFor(stored.f.si);
    expect(job.state).toBe('failed');
    expect(String(job.lastError)).toMatch(/found 0 good shares of the 3 needed .*10 copies have a UEB other than the one the capability names/);
    for (let i = 0; i < 10; i++) expect(await corruptionReports(grid, i)).toEqual([]);
    // The right capability still sees a healthy file, and its repair is not confused by the wrong one's.
    expect((await r.checkFile({ cap: stored.cap })).json).toMatchObject({ healthy: true, corrupt: [] });
    expect((await r.repair({ cap: stored.cap })).status).toBe(202);
    const ok = await r.waitFor(stored.f.si);
    expect(ok.state, String(ok.lastError)).toBe('done');
    expect(ok.result).toMatchObject({ repaired: [], corrupt: [] });
  });

  it('a source share that turns out corrupt mid-repair is reported, dropped and replaced too', async () => {
    grid = await startGrid({ servers: 11 });
    const stored = await putFile(grid, randomBytes(SIZE));
    const si = stored.f.si;
    const original = await shareBytes(grid, si);
    await deleteShares(grid, si, [9]);
    const src = await fileOf(grid, si, 0); // a primary share: the first source
    await corruptBlock(src.file, stored, 3);
    const r = new RepairCalls(grid.helper.url);
    await r.repair({ cap: stored.cap });
    const job = await r.waitFor(si);
    expect(job.state, String(job.lastError)).toBe('done');
    const result = job.result as Result;
    expect(result.repaired).toEqual([0, 9]);
    expect(result.corrupt).toEqual([expect.objectContaining({ shnum: 0, server: grid.storage[src.server]!.serverId, reason: expect.stringMatching(/block 3/) })]);
    expect((await corruptionReports(grid, src.server)).map((x) => x.reason)).toEqual([expect.stringMatching(/^ferry repair: .*block 3/)]);
    const after = await shareBytes(grid, si);
    expect(after.get(9)!.equals(original.get(9)!)).toBe(true);
    const copies0 = (await shareFiles(grid, si)).filter((f) => f.shnum === 0 && f.server !== src.server);
    expect(copies0).toHaveLength(1);
    const held = await holdings(grid, si);
    expect(held.size).toBe(10);
    expect((await readBack(grid, stored, [src.server])).equals(stored.plain)).toBe(true);
  });
});
