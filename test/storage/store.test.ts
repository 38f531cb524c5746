import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FerryError } from '../../core/errors.js';
import { DAY_MS, DiskShareStore, type DiskStoreOptions } from '../../storage/store/disk-store.js';

const SI = 'aaaaaaaaaaaaaaaaaaaaaaaaaa';
const SI2 = 'bbbbbbbbbbbbbbbbbbbbbbbbba';

let dir: string;
let now: number;
const clock = () => now;
const open: DiskShareStore[] = [];

async function openStore(extra: Partial<DiskStoreOptions> = {}): Promise<DiskShareStore> {
  const store = await DiskShareStore.open({ dir, clock, ...extra });
  open.push(store);
  return store;
}

async function* chunks(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield p;
}

function body(bytes: Uint8Array, pieces = 1): AsyncIterable<Uint8Array> {
  const size = Math.ceil(bytes.length / pieces);
  const list: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) list.push(bytes.subarray(i, i + size));
  return chunks(...list);
}

async function write(store: DiskShareStore, data: Uint8Array, start: number, end: number, si = SI, shnum = 0) {
  return store.write(si, shnum, { start, end }, body(data.subarray(start, end), 3));
}

async function readAll(store: DiskShareStore, si: string, shnum: number): Promise<Buffer> {
  const reader = await store.open(si, shnum);
  const parts: Buffer[] = [];
  for await (const c of reader.stream(0, reader.size)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof FerryError) return err.code;
    throw err;
  }
  throw new Error('expected a FerryError');
}

async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      out.push(path.relative(root, p));
      if (e.isDirectory()) await walk(p);
    }
  };
  await walk(root);
  return out.sort();
}

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-store-'));
  now = Date.UTC(2030, 0, 1);
});

afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('DiskShareStore allocation', () => {
  it('allocates, reports missing ranges and already-held shares', async () => {
    const store = await openStore();
    const data = randomBytes(100);
    const a = await store.allocate(SI, { shareSize: 100, shareNumbers: [3, 0] });
    expect(a.alreadyHave).toEqual([]);
    expect(a.allocated).toEqual([0, 3]);
    expect(a.missing.get(0)).toEqual([[0, 100]]);
    expect(a.leaseExpiresAt).toBe(now + 31 * DAY_MS);
    await write(store, data, 0, 100);
    const b = await store.allocate(SI, { shareSize: 100, shareNumbers: [0, 3, 5] });
    expect(b.alreadyHave).toEqual([0]);
    expect(b.allocated).toEqual([3, 5]);
  });

  it('keeps a partial of the same size (resume) and refuses another size', async () => {
    const store = await openStore();
    const data = randomBytes(50);
    await store.allocate(SI, { shareSize: 50, shareNumbers: [1] });
    await write(store, data, 10, 20, SI, 1);
    const again = await store.allocate(SI, { shareSize: 50, shareNumbers: [1] });
    expect(again.allocated).toEqual([1]);
    expect(again.missing.get(1)).toEqual([
      [0, 10],
      [20, 50],
    ]);
    expect(await code(store.allocate(SI, { shareSize: 51, shareNumbers: [1, 2] }))).toBe('CONFLICT');
    // The refused request created nothing for share 2.
    expect(await code(store.progress(SI, 2))).toBe('NOT_FOUND');
  });

  it('validates share numbers, sizes and storage indexes', async () => {
    const store = await openStore({ maxShareSize: 1000 });
    expect(await code(store.allocate(SI, { shareSize: 10, shareNumbers: [1, 1] }))).toBe('INVALID_SHARE_NUMBER');
    expect(await code(store.allocate(SI, { shareSize: 10, shareNumbers: [256] }))).toBe('INVALID_SHARE_NUMBER');
    expect(await code(store.allocate(SI, { shareSize: 1001, shareNumbers: [0] }))).toBe('PAYLOAD_TOO_LARGE');
    expect(await code(store.allocate('../../../../etc/passwd', { shareSize: 10, shareNumbers: [0] }))).toBe('INVALID_STORAGE_INDEX');
    expect(await code(store.allocate(SI.toUpperCase(), { shareSize: 10, shareNumbers: [0] }))).toBe('INVALID_STORAGE_INDEX');
    expect(await code(store.list('..'))).toBe('INVALID_STORAGE_INDEX');
  });

  it('refuses allocations beyond free space minus reserved space minus outstanding uploads', async () => {
    const store = await openStore({ freeSpace: async () => 1000, reservedSpace: 100 });
    expect((await store.space()).available).toBe(900);
    await store.allocate(SI, { shareSize: 400, shareNumbers: [0, 1] });
    expect((await store.space()).available).toBe(100);
    const err = await store.allocate(SI2, { shareSize: 101, shareNumbers: [0] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).code).toBe('INSUFFICIENT_STORAGE');
    expect((err as FerryError).message).toMatch(/not enough space/);
    // Nothing was created for the refused storage index, not even a lease.
    expect(await listTree(dir)).not.toContainEqual(expect.stringContaining(SI2));
    // Re-allocating the kept partials needs no new space.
    expect((await store.allocate(SI, { shareSize: 400, shareNumbers: [0, 1] })).allocated).toEqual([0, 1]);
    await store.allocate(SI2, { shareSize: 100, shareNumbers: [0] });
  });
});

describe('DiskShareStore writes', () => {
  it('accepts chunks in any order, identical rewrites, and completes atomically', async () => {
    const store = await openStore();
    const data = randomBytes(1000);
    await store.allocate(SI, { shareSize: 1000, shareNumbers: [7] });
    let p = await write(store, data, 600, 1000, SI, 7);
    expect(p.missing).toEqual([[0, 600]]);
    p = await write(store, data, 100, 300, SI, 7);
    expect(p.missing).toEqual([
      [0, 100],
      [300, 600],
    ]);
    p = await write(store, data, 200, 700, SI, 7); // overlaps both sides with identical bytes
    expect(p.missing).toEqual([[0, 100]]);
    expect(await store.list(SI)).toEqual([]);
    expect(await code(store.open(SI, 7))).toBe('NOT_FOUND'); // partial shares are never readable
    p = await write(store, data, 0, 100, SI, 7);
    expect(p).toEqual({ shareSize: 1000, complete: true, missing: [] });
    expect(await store.list(SI)).toEqual([7]);
    expect(Buffer.compare(await readAll(store, SI, 7), data)).toBe(0);
    const tree = await listTree(dir);
    expect(tree).toContain(path.join('shares', 'aa', SI, '7'));
    expect(tree.filter((f) => f.startsWith('incoming'))).toEqual(['incoming']);
  });

  it('rejects different bytes over received data with WRITE_CONFLICT and marks nothing', async () => {
    const store = await openStore();
    const data = randomBytes(100);
    await store.allocate(SI, { shareSize: 100, shareNumbers: [0] });
    await write(store, data, 40, 60);
    const other = Buffer.from(data.subarray(30, 70));
    other[25] ^= 0xff; // position 55: inside the received range
    const err = await store.write(SI, 0, { start: 30, end: 70 }, body(other)).catch((e: unknown) => e);
    expect((err as FerryError).code).toBe('WRITE_CONFLICT');
    expect((err as FerryError).details).toEqual({ conflict: [40, 60] });
    expect((await store.progress(SI, 0)).missing).toEqual([
      [0, 40],
      [60, 100],
    ]);
    // The received bytes were not touched.
    await write(store, data, 0, 100);
    expect(Buffer.compare(await readAll(store, SI, 0), data)).toBe(0);
  });

  it('checks the range against the allocation and the body length against the range', async () => {
    const store = await openStore();
    const data = randomBytes(100);
    await store.allocate(SI, { shareSize: 100, shareNumbers: [0] });
    expect(await code(store.write(SI, 0, { start: 90, end: 101 }, body(randomBytes(11))))).toBe('INVALID_RANGE');
    expect(await code(store.write(SI, 0, { start: 0, end: 10, total: 99 }, body(randomBytes(10))))).toBe('INVALID_RANGE');
    expect(await code(store.write(SI, 0, { start: 0, end: 10 }, body(data.subarray(0, 9))))).toBe('INVALID_RANGE');
    expect(await code(store.write(SI, 0, { start: 0, end: 10 }, body(data.subarray(0, 11))))).toBe('INVALID_RANGE');
    expect(await code(store.write(SI, 1, { start: 0, end: 10 }, body(data.subarray(0, 10))))).toBe('NOT_FOUND');
    expect((await store.progress(SI, 0)).missing).toEqual([[0, 100]]);
  });

  it('does not count a chunk whose body failed midway', async () => {
    const store = await openStore();
    await store.allocate(SI, { shareSize: 100, shareNumbers: [0] });
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield randomBytes(30);
      throw new Error('socket hang up');
    }
    expect(await code(store.write(SI, 0, { start: 0, end: 60 }, broken()))).toBe('ABORTED');
    expect((await store.progress(SI, 0)).missing).toEqual([[0, 100]]);
    // The unmarked bytes are simply overwritten later.
    const data = randomBytes(100);
    await write(store, data, 0, 100);
    expect(Buffer.compare(await readAll(store, SI, 0), data)).toBe(0);
  });

  it('accepts a retry of identical bytes on a complete share and refuses different ones', async () => {
    const store = await openStore();
    const data = randomBytes(64);
    await store.allocate(SI, { shareSize: 64, shareNumbers: [0] });
    await write(store, data, 0, 64);
    expect(await write(store, data, 32, 64)).toEqual({ shareSize: 64, complete: true, missing: [] });
    expect(await code(store.write(SI, 0, { start: 0, end: 4 }, body(Buffer.from('nope'))))).toBe('WRITE_CONFLICT');
  });

  it('serialises concurrent writes of disjoint chunks to one share', async () => {
    const store = await openStore();
    const data = randomBytes(64 * 1024);
    await store.allocate(SI, { shareSize: data.length, shareNumbers: [0] });
    const step = 4096;
    const results = await Promise.all(
      Array.from({ length: data.length / step }, (_, i) => write(store, data, i * step, (i + 1) * step)),
    );
    expect(results.filter((r) => r.complete)).toHaveLength(1);
    expect(Buffer.compare(await readAll(store, SI, 0), data)).toBe(0);
  });

  it('reads back exactly what was written, for any chunking and order (property)', async () => {
    const store = await openStore();
    let counter = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3000 }),
        fc.array(fc.integer({ min: 1, max: 2999 }), { maxLength: 8 }),
        fc.array(fc.nat(), { minLength: 10, maxLength: 10 }),
        async (size, cutsRaw, order) => {
          const shnum = counter++ % 256;
          const si = [SI, SI2][Math.floor(counter / 256)];
          const data = randomBytes(size);
          const cuts = [...new Set(cutsRaw.filter((c) => c < size))].sort((a, b) => a - b);
          const bounds = [0, ...cuts, size];
          const pieces = bounds.slice(0, -1).map((s, i) => [s, bounds[i + 1]] as const);
          // Shuffle deterministically from `order`.
          for (let i = pieces.length - 1; i > 0; i--) {
            const j = order[i % order.length] % (i + 1);
            [pieces[i], pieces[j]] = [pieces[j], pieces[i]];
          }
          await store.allocate(si, { shareSize: size, shareNumbers: [shnum] });
          let last;
          for (const [s, e] of pieces) last = await write(store, data, s, e, si, shnum);
          expect(last?.complete).toBe(true);
          expect(Buffer.compare(await readAll(store, si, shnum), data)).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('DiskShareStore restart and recovery', () => {
  it('keeps partial shares across a restart and completes them', async () => {
    const data = randomBytes(500);
    let store = await openStore();
    const serverId = store.serverId;
    await store.allocate(SI, { shareSize: 500, shareNumbers: [2] });
    await write(store, data, 100, 400, SI, 2);
    await store.close();
    store = await openStore();
    expect(store.serverId).toBe(serverId);
    expect(await store.progress(SI, 2)).toEqual({
      shareSize: 500,
      complete: false,
      missing: [
        [0, 100],
        [400, 500],
      ],
    });
    await write(store, data, 0, 100, SI, 2);
    expect((await write(store, data, 400, 500, SI, 2)).complete).toBe(true);
    expect(Buffer.compare(await readAll(store, SI, 2), data)).toBe(0);
  });

  it('cleans what a crash can leave behind and nothing else', async () => {
    let store = await openStore();
    const data = randomBytes(10);
    await store.allocate(SI, { shareSize: 10, shareNumbers: [0, 1, 2, 3] });
    await write(store, data, 0, 5, SI, 0);
    await store.close();
    const inc = path.join(dir, 'incoming', SI);
    await fs.rm(path.join(inc, '1.json')); // data without sidecar
    await fs.rm(path.join(inc, '2')); // sidecar without data
    await fs.writeFile(path.join(inc, '.3.json.tmp-abc'), 'junk'); // temp file
    await fs.writeFile(path.join(inc, '3.json'), '{not json'); // unreadable sidecar
    store = await openStore();
    expect((await store.progress(SI, 0)).missing).toEqual([[5, 10]]);
    for (const n of [1, 2, 3]) expect(await code(store.progress(SI, n))).toBe('NOT_FOUND');
    expect((await fs.readdir(inc)).sort()).toEqual(['0', '0.json']);
  });

  it('drops a partial whose share was already completed (crash after the rename)', async () => {
    let store = await openStore();
    const data = randomBytes(10);
    await store.allocate(SI, { shareSize: 10, shareNumbers: [0] });
    await write(store, data, 0, 10);
    await store.close();
    await fs.mkdir(path.join(dir, 'incoming', SI), { recursive: true });
    await fs.writeFile(path.join(dir, 'incoming', SI, '0'), 'xx');
    await fs.writeFile(path.join(dir, 'incoming', SI, '0.json'), JSON.stringify({ v: 1, size: 10, received: [], createdAt: 0, lastWriteAt: 0 }));
    store = await openStore();
    expect(await store.progress(SI, 0)).toEqual({ shareSize: 10, complete: true, missing: [] });
    expect(Buffer.compare(await readAll(store, SI, 0), data)).toBe(0);
  });
});

describe('DiskShareStore sweep, leases, corruption', () => {
  it('removes partial shares idle longer than the limit', async () => {
    const store = await openStore({ partialIdleMs: 7 * DAY_MS });
    const data = randomBytes(20);
    await store.allocate(SI, { shareSize: 20, shareNumbers: [0, 1] });
    now += 6 * DAY_MS;
    await write(store, data, 0, 5, SI, 1); // share 1 is active
    now += 2 * DAY_MS;
    const r = await store.sweep();
    expect(r.expiredPartials).toBe(1);
    expect(await code(store.progress(SI, 0))).toBe('NOT_FOUND');
    expect((await store.progress(SI, 1)).missing).toEqual([[5, 20]]);
    now += 8 * DAY_MS;
    expect((await store.sweep()).expiredPartials).toBe(1);
    expect(await fs.readdir(path.join(dir, 'incoming'))).toEqual([]);
    expect((await store.status()).lastSweep?.expiredPartials).toBe(1);
  });

  it('deletes shares whose lease expired, keeps renewed ones', async () => {
    const store = await openStore({ defaultLeaseMs: 31 * DAY_MS });
    const data = randomBytes(10);
    for (const si of [SI, SI2]) {
      await store.allocate(si, { shareSize: 10, shareNumbers: [0, 1] });
      await write(store, data, 0, 10, si, 0);
      await write(store, data, 0, 10, si, 1);
    }
    now += 20 * DAY_MS;
    expect((await store.renewLease(SI2)).expiresAt).toBe(now + 31 * DAY_MS);
    // A shorter lease never shortens an existing one.
    expect((await store.renewLease(SI2, 1000)).expiresAt).toBe(now + 31 * DAY_MS);
    now += 11 * DAY_MS; // SI's lease is now exactly expired
    const r = await store.sweep();
    expect(r).toMatchObject({ expiredLeases: 1, deletedShares: 2, freedBytes: 20 });
    expect(await store.list(SI)).toEqual([]);
    expect(await store.list(SI2)).toEqual([0, 1]);
    expect(await code(store.renewLease(SI))).toBe('NOT_FOUND');
    const status = await store.status();
    expect(status.shares).toEqual({ storageIndexes: 1, count: 2, bytes: 20 });
    expect(status.leases).toEqual({ count: 1, expired: 0 });
  });

  it('persists corruption reports and shows them in the status', async () => {
    let store = await openStore();
    await store.allocate(SI, { shareSize: 4, shareNumbers: [0] });
    expect(await code(store.reportCorruption(SI, 0, 'partial share'))).toBe('NOT_FOUND');
    await write(store, Buffer.from('abcd'), 0, 4);
    const report = await store.reportCorruption(SI, 0, 'block hash mismatch in segment 3');
    expect(report).toMatchObject({ storageIndex: SI, shareNumber: 0, reportedAt: now });
    await store.close();
    store = await openStore();
    const status = await store.status();
    expect(status.corruption.count).toBe(1);
    expect(status.corruption.recent[0]).toEqual(report);
  });

  it('prunes the oldest corruption reports beyond the cap', async () => {
    const store = await openStore({ maxCorruptionReports: 3 });
    await store.allocate(SI, { shareSize: 1, shareNumbers: [0] });
    await write(store, Buffer.from('x'), 0, 1);
    for (let i = 0; i < 5; i++) {
      now += 1000;
      await store.reportCorruption(SI, 0, `report ${i}`);
    }
    const status = await store.status();
    expect(status.corruption.count).toBe(3);
    expect(status.corruption.recent.map((r) => r.reason)).toEqual(['report 4', 'report 3', 'report 2']);
    expect(await fs.readdir(path.join(dir, 'corruption'))).toHaveLength(3);
  });

  it('aborts uploads in progress only', async () => {
    const store = await openStore();
    await store.allocate(SI, { shareSize: 3, shareNumbers: [0, 1] });
    await write(store, Buffer.from('abc'), 0, 3, SI, 1);
    await store.abort(SI, 0);
    expect(await code(store.abort(SI, 0))).toBe('NOT_FOUND');
    expect(await code(store.abort(SI, 1))).toBe('CONFLICT');
    expect(await fs.readdir(path.join(dir, 'incoming'))).toEqual([]);
  });
});
