/**
 * The pusher on an in-memory grid: placement saved first, blocks and trailers
 * land where planned, a server lost mid-push has its shares re-placed, a
 * resumed push sends only the missing ranges, and shares whose trailers do
 * not prove right are dropped.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IntegrityError } from '../../../core/errors.js';
import { blockSizeOf, fileGeometry } from '../../../core/params.js';
import { blockRange, encodeShareHeader, shareLayout, type ShareLayout } from '../../../core/share-layout.js';
import type { GridServer } from '../../../helper/grid/grid.js';
import { placeShares } from '../../../helper/push/happiness.js';
import { pushShares, runPasses, type BlockSource, type PushOutcome } from '../../../helper/push/pusher.js';
import { memoryGrid } from '../grid/memory-grid.js';

const layout = shareLayout(fileGeometry(50_000, { k: 3, n: 6, maxSegmentSize: 8 * 1024 }));
const g = layout.geometry;
const si = 'aaaaaaaaaaaaaaaaaaaaaaaaaa';

/** Deterministic blocks and trailers: the bytes each share must end up with. */
class FixedSource implements BlockSource {
  readonly blocks = Array.from({ length: g.n }, () => Array.from({ length: g.numSegments }, (_, i) => randomBytes(blockSizeOf(g, i))));
  readonly tails = Array.from({ length: g.n }, () => randomBytes(layout.end - layout.blockTreeOffset));
  fed = 0;
  failTrailers = false;

  async feed(_shnums: readonly number[], deliver: (segment: number, blockOf: (shnum: number) => Uint8Array) => Promise<void>): Promise<void> {
    for (let i = 0; i < g.numSegments; i++) {
      this.fed++;
      await deliver(i, (s) => this.blocks[s][i]);
    }
  }

  async trailers(shnums: readonly number[]) {
    if (this.failTrailers) throw new IntegrityError('the regenerated shares do not match');
    return new Map(shnums.map((s) => [s, { header: encodeShareHeader(layout, s), trailer: this.tails[s] }]));
  }

  share(s: number, l: ShareLayout = layout): Buffer {
    return Buffer.concat([encodeShareHeader(l, s), ...this.blocks[s], this.tails[s]]);
  }
}

/** One upload-like push: survey-free placement over the servers not lost, passes until done. */
async function push(servers: GridServer[], source: BlockSource, saved: Record<string, string>[] = []): Promise<PushOutcome> {
  const lost = new Set<string>();
  return runPasses({ maxPasses: 4, lost, si, giveUp: (err) => new Error(`gave up: ${String(err)}`) }, () => {
    const writable = servers.filter((s) => !lost.has(s.id));
    const plan = placeShares({ n: g.n, writable: writable.map((s) => s.id), existing: new Map() });
    return pushShares({ si, layout, push: plan.push, servers: writable, savePlacement: async (p) => void saved.push(p), flushBytes: 4096 }, source);
  });
}

describe('pusher', () => {
  it('saves the placement first, then every share lands complete and byte-exact on its server', async () => {
    const grid = memoryGrid(6);
    const source = new FixedSource();
    const saved: Record<string, string>[] = [];
    const out = await push(grid.servers, source, saved);
    expect(saved).toHaveLength(1);
    expect(out.pushed.map((p) => p.shnum)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const p of out.pushed) {
      expect(saved[0][String(p.shnum)]).toBe(p.server);
      const store = grid.stores.find((st) => st.serverId === p.server)!;
      expect(await store.list(si)).toContain(p.shnum);
      expect(Buffer.from(await store.read(si, p.shnum, 0, layout.end)).equals(source.share(p.shnum))).toBe(true);
    }
  });

  it('a server lost mid-push: its shares are re-placed on the others and the push succeeds', async () => {
    const grid = memoryGrid(6);
    grid.stores[2].faults.failWritesAfter = 5_000; // dies after a few writes
    const source = new FixedSource();
    const out = await push(grid.servers, source);
    expect(out.pushed.map((p) => p.shnum).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(out.pushed.every((p) => p.server !== 'm2')).toBe(true);
    expect(await grid.stores[2].list(si)).toEqual([]);
    for (const p of out.pushed) {
      const store = grid.stores.find((st) => st.serverId === p.server)!;
      expect(Buffer.from(await store.read(si, p.shnum, 0, layout.end)).equals(source.share(p.shnum))).toBe(true);
    }
  });

  it('a resumed push sends only the ranges the server is missing', async () => {
    const grid = memoryGrid(6);
    const source = new FixedSource();
    const full = source.share(0);
    const half = Math.floor(layout.end / 2);
    // An earlier attempt got the first 20 000 bytes of share 0 to m0.
    await grid.stores[0].allocate(si, layout.end, [0]);
    await grid.stores[0].write(si, 0, 0, full.subarray(0, half));
    grid.stores[0].writes.length = 0;
    // The placement saved by that attempt: share s on server s.
    const placement = new Map(Array.from({ length: g.n }, (_, s) => [s, `m${s}`] as [number, string]));
    await pushShares({ si, layout, push: placement, servers: grid.servers, savePlacement: async () => undefined }, source);
    const writes = grid.stores[0].writes.filter((w) => w.shnum === 0);
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((w) => w.offset >= half)).toBe(true);
    expect(writes.reduce((sum, w) => sum + w.length, 0)).toBe(layout.end - half);
    expect(Buffer.from(await grid.stores[0].read(si, 0, 0, layout.end)).equals(full)).toBe(true);
  });

  it('a share a server already holds complete is not sent again', async () => {
    const grid = memoryGrid(6);
    const source = new FixedSource();
    grid.stores[1].put(si, 1, source.share(1));
    const plan = new Map([[1, 'm1']]);
    const out = await pushShares({ si, layout, push: plan, servers: grid.servers, savePlacement: async () => undefined }, source);
    expect(out.pushed).toEqual([]);
    expect([...out.alreadyHave.get(1)!]).toEqual(['m1']);
    expect(grid.stores[1].writes).toEqual([]);
  });

  it('shares whose trailers do not prove right are dropped, never finished', async () => {
    const grid = memoryGrid(6);
    const source = new FixedSource();
    source.failTrailers = true;
    await expect(push(grid.servers, source)).rejects.toBeInstanceOf(IntegrityError);
    for (const store of grid.stores) {
      expect(await store.list(si)).toEqual([]);
      const alloc = await store.allocate(si, layout.end, [0, 1, 2, 3, 4, 5]);
      for (const s of alloc.allocated) expect(alloc.missing[String(s)]).toEqual([[0, layout.end]]);
    }
  });

  it('blocks go to their offsets in the layout', () => {
    // Sanity of the fixture itself: the share is header, blocks in order, trailer.
    const source = new FixedSource();
    const share = source.share(4);
    const { offset, length } = blockRange(layout, 2);
    expect(share.subarray(offset, offset + length).equals(source.blocks[4][2])).toBe(true);
  });
});
