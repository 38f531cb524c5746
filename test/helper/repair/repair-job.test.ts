/**
 * runRepair on an in-memory grid: the repair pieces (inspection, placement,
 * regeneration fed to the pusher, trailers, leases) without HTTP or a helper.
 */
import { setMaxListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { isFerryError } from '../../../core/errors.js';
import type { CorruptShare } from '../../../helper/jobs/job.js';
import { inThreadCodec } from '../../../helper/repair/codec.js';
import { DEFAULT_REPAIR_SETTINGS, runRepair, type RepairRun } from '../../../helper/repair/repair-job.js';
import { blockRange, layoutFor } from '../../../core/share-layout.js';
import { buildShares, type Built } from '../../support/repair.js';
import { memoryGrid } from '../grid/memory-grid.js';

const params = { k: 3, n: 6, maxSegmentSize: 4096 };

function run(b: Built, grid: ReturnType<typeof memoryGrid>, over: Partial<RepairRun> = {}) {
  const ac = new AbortController();
  setMaxListeners(0, ac.signal); // one listener per storage call in flight, as the job queue's signals
  const saved = { placement: [] as Record<string, string>[], corrupt: [] as CorruptShare[][] };
  const r: RepairRun = {
    si: b.f.si,
    cap: b.cap,
    verify: false,
    happy: 5,
    placement: undefined,
    knownCorrupt: [],
    servers: async () => grid.servers,
    codec: inThreadCodec(),
    settings: { ...DEFAULT_REPAIR_SETTINGS, timeoutMs: 5_000, windowBytes: 8 * 1024 },
    hooks: {},
    signal: ac.signal,
    learnt: async () => undefined,
    savePlacement: async (p) => void saved.placement.push(p),
    saveCorrupt: async (c) => void saved.corrupt.push(c),
    progress: () => undefined,
    createdAt: Date.now(),
    ...over,
  };
  return { saved, result: runRepair(r) };
}

describe('repair on an in-memory grid', () => {
  it('regenerates missing shares byte for byte, on servers that held nothing, and renews leases', async () => {
    const b = await buildShares(30_000, params);
    const grid = memoryGrid(8);
    for (const s of [0, 2, 3, 5]) grid.stores[s].put(b.f.si, s, b.shares[s]);
    const { saved, result } = run(b, grid);
    const out = await result;
    expect(out.repaired).toEqual([1, 4]);
    expect(out.healthy).toBe(true);
    expect(saved.placement).toHaveLength(1);
    for (const s of [1, 4]) {
      const server = saved.placement[0][String(s)];
      expect(['m1', 'm4', 'm6', 'm7']).toContain(server);
      const store = grid.stores.find((st) => st.serverId === server)!;
      expect(Buffer.from(await store.read(b.f.si, s, 0, b.shares[s].length)).equals(b.shares[s])).toBe(true);
    }
    expect(out.leases?.renewed.length).toBeGreaterThanOrEqual(6);
  });

  it('a corrupt source block: reported to its server, the copy replaced, the rest still right', async () => {
    const b = await buildShares(30_000, params);
    const grid = memoryGrid(8);
    const l = layoutFor(b.cap.size, params.k, params.n, b.f.geometry.segmentSize);
    for (const s of [0, 1, 2, 3]) grid.stores[s].put(b.f.si, s, b.shares[s]);
    const bad = Buffer.from(b.shares[0]);
    const { offset } = blockRange(l, 2);
    bad[offset + 5] ^= 0xff;
    grid.stores[0].put(b.f.si, 0, bad);
    const { result } = run(b, grid);
    const out = await result;
    expect(out.healthy).toBe(true);
    expect(out.corrupt?.map((c) => `${c.shnum}@${c.server}`)).toEqual(['0@m0']);
    expect(grid.stores[0].corruptionReports.map((r) => r.shnum)).toEqual([0]);
    for (const store of grid.stores.slice(1)) expect(store.corruptionReports).toEqual([]);
  });

  it('the wrong capability: NOT_ENOUGH_SHARES saying so, and no server is accused', async () => {
    const b = await buildShares(30_000, params);
    const other = await buildShares(30_000, params);
    const grid = memoryGrid(6);
    // Shares of another file stored under this storage index.
    for (let s = 0; s < 6; s++) grid.stores[s].put(b.f.si, s, other.shares[s]);
    const { result } = run(b, grid, { settings: { ...DEFAULT_REPAIR_SETTINGS, maxPasses: 1 } });
    const err = await result.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isFerryError(err) && err.code).toBe('NOT_ENOUGH_SHARES');
    expect(String((err as Error).message)).toMatch(/6 copies have a UEB other than the one the capability names/);
    for (const store of grid.stores) expect(store.corruptionReports).toEqual([]);
  });
});
