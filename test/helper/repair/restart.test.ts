/**
 * A repair interrupted by a helper shutdown mid-push resumes from the job
 * store when a new helper opens the same data dir: same placement, only the
 * bytes the servers still lack are sent, and the shares end up identical to
 * the originals.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { layoutFor } from '../../../core/share-layout.js';
import { StorageClient } from '../../../storage/client.js';
import { putFile } from '../../support/gateway-fixture.js';
import { GRID_TOKEN, startGrid, type TestGrid } from '../../support/grid.js';
import { deleteShares, download, holdings, RepairCalls, shareBytes, startRepairHelper } from '../../support/repair.js';

let grid: TestGrid | undefined;
afterEach(async () => {
  await grid?.close();
  grid = undefined;
});

describe('repair after a helper restart', () => {
  it('continues the same partial shares and completes', async () => {
    grid = await startGrid();
    const plain = randomBytes(8 * 64 * 1024 + 99); // 9 segments
    const stored = await putFile(grid, plain);
    const si = stored.f.si;
    const original = await shareBytes(grid, si);
    const lost = [0, 1, 2, 3, 5, 6, 8];
    await deleteShares(grid, si, lost);
    await grid.helper.close();

    // A helper that stops before segment 5, having pushed segments 0-3 (one block per window, small writes).
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let reached: () => void = () => undefined;
    const atGate = new Promise<void>((r) => (reached = r));
    const first = await startRepairHelper(grid, {
      windowBytes: 1,
      flushBytes: 8 * 1024,
      hooks: {
        beforeSegment: async (_si, segment) => {
          if (segment < 5) return;
          reached();
          await gate;
        },
      },
    });
    const r1 = new RepairCalls(first.url);
    expect((await r1.repair({ cap: stored.cap })).status).toBe(202);
    await atGate;
    const placement = (await first.helper.jobs.require(si)).placement!;
    expect(Object.keys(placement).map(Number).sort()).toEqual(lost);
    const l = layoutFor(plain.length, 3, 10, stored.f.geometry.segmentSize);
    /** Bytes of each placed share the servers hold (complete or not). */
    const landed = async (): Promise<Map<number, { bytes: number; complete: boolean }>> => {
      const out = new Map<number, { bytes: number; complete: boolean }>();
      for (const [shnum, id] of Object.entries(placement)) {
        const server = grid!.storage.find((s) => s?.serverId === id)!;
        const c = new StorageClient({ url: server.url, token: GRID_TOKEN });
        try {
          const p = await c.missing(si, Number(shnum));
          out.set(Number(shnum), { bytes: l.end - p.missing.reduce((sum, [a, b]) => sum + (b - a), 0), complete: p.complete });
        } finally {
          await c.close();
        }
      }
      return out;
    };
    // Wait (polling, with a deadline) until writes of the segments before the gate reached every placed share.
    for (const deadline = Date.now() + 15_000; ; ) {
      if ([...(await landed()).values()].every((p) => p.bytes > 0)) break;
      if (Date.now() > deadline) throw new Error('the first helper never wrote to every placed share');
      await new Promise((r) => setTimeout(r, 25));
    }
    const closing = first.close();
    release();
    await closing;

    // A write the servers were handling when the helper went away may still land after close():
    // take the servers' holdings once they have stopped changing.
    let settled = await landed();
    for (const deadline = Date.now() + 10_000; ; ) {
      await new Promise((r) => setTimeout(r, 250));
      const again = await landed();
      if ([...again].every(([s, p]) => settled.get(s)?.bytes === p.bytes)) break;
      if (Date.now() > deadline) throw new Error('the servers kept receiving after the first helper closed');
      settled = again;
    }
    // The servers hold partial shares: some bytes of each, not all.
    const partial = new Map<number, number>();
    for (const [shnum, p] of settled) {
      expect(p.complete).toBe(false);
      partial.set(shnum, p.bytes);
    }
    const received = [...partial.values()].reduce((a, b) => a + b, 0);
    expect(received).toBeGreaterThan(0);
    const state = await (async () => {
      const { JobStore } = await import('../../../helper/jobs/job-store.js');
      const store = new JobStore(`${grid!.config.dataDir}/jobs`);
      await store.open();
      try {
        return await store.require(si);
      } finally {
        await store.close();
      }
    })();
    expect(state).toMatchObject({ kind: 'repair', state: 'encoding' });

    // A new helper on the same data dir picks the job up by itself.
    const second = await startRepairHelper(grid, {});
    const r2 = new RepairCalls(second.url);
    const job = await r2.waitFor(si);
    expect(job.state, String(job.lastError)).toBe('done');
    expect(job.attempts).toBe(2);
    const result = job.result as { repaired: number[]; shareMap: Record<string, string[]> };
    expect(result.repaired).toEqual(lost);
    for (const [s, id] of Object.entries(placement)) expect(result.shareMap[s]).toEqual([id]);
    // Only what the servers lacked was sent the second time.
    const pushed = Object.values(job.pushedBytes as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(pushed).toBeGreaterThan(0);
    expect(pushed).toBe(lost.length * l.end - received);

    const after = await shareBytes(grid, si);
    for (const s of lost) expect(after.get(s)!.equals(original.get(s)!), `share ${s}`).toBe(true);
    expect(new Set([...(await holdings(grid, si)).values()].flat()).size).toBe(10);
    expect((await download(second.url, stored.cap)).equals(plain)).toBe(true);
  });
});
