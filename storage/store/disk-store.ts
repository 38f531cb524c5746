/**
 * ShareStore on a local directory (layout in ./layout.ts).
 *
 * Durability: a chunk counts as received only after its bytes are fsynced
 * and the sidecar recording it has been atomically replaced. A share becomes
 * visible to readers only by an atomic rename into shares/ followed by fsyncs
 * of both directories. Partial shares survive restarts (see ./recover.ts).
 *
 * Concurrency (in-process locks, always taken in this order):
 *   `space`       allocation's check-then-reserve of free space
 *   `share:si/n`  writes, completion and removal of one partial share
 *   `si:si`       creation/removal of shares, partials and the lease of one storage index
 */
import { promises as fs } from 'node:fs';
import { FerryError } from '../../core/errors.js';
import { parseStorageIndex } from '../../core/storage-index.js';
import { mkdirDurable } from '../../runtime/fs/durable.js';
import { addInterval, complement, coveredLength, coversAll, type Interval } from '../../runtime/intervals.js';
import { KeyedMutex } from '../../runtime/lock.js';
import { writeChunk } from './chunk.js';
import { CorruptionLog } from './corruption.js';
import { checkAllocation, checkSpace } from './allocation.js';
import { Layout, checkShareNumber } from './layout.js';
import { LeaseBook } from './leases.js';
import { countLeases, countShares } from './census.js';
import { PartialTable } from './partials.js';
import { recoverPartials } from './recover.js';
import type { PartialMeta } from './sidecar.js';
import { loadOrCreateServerId } from './server-id.js';
import { ShareFiles } from './shares.js';
import { sweepStore } from './sweep.js';
import type {
  AllocateInput,
  AllocateResult,
  CorruptionReport,
  Lease,
  ShareProgress,
  ShareReader,
  ShareStore,
  SpaceInfo,
  StoreStatus,
  SweepResult,
  WriteRange,
} from './types.js';

export const DAY_MS = 86_400_000;

export interface DiskStoreOptions {
  dir: string;
  /** Bytes of the file system never to allocate (default 0). */
  reservedSpace?: number;
  /** Largest share accepted (default 64 GiB). */
  maxShareSize?: number;
  /** A partial share idle longer than this is removed by the sweep (default 7 days). */
  partialIdleMs?: number;
  /** Lease added by allocate/renew when the client names none (default 31 days). */
  defaultLeaseMs?: number;
  /** Corruption reports kept on disk (default 1000; the oldest are pruned). */
  maxCorruptionReports?: number;
  /** Milliseconds since the epoch (default Date.now); inject for tests. */
  clock?: () => number;
  /** Free bytes on the file system (default statfs(dir): bavail × bsize); inject for tests. */
  freeSpace?: () => Promise<number>;
  log?: { warn(obj: object, msg?: string): void; info(obj: object, msg?: string): void };
}

export const DEFAULT_MAX_SHARE_SIZE = 64 * 2 ** 30;

type ResolvedOptions = DiskStoreOptions &
  Required<Pick<DiskStoreOptions, 'reservedSpace' | 'partialIdleMs' | 'defaultLeaseMs' | 'clock' | 'freeSpace'>>;

export class DiskShareStore implements ShareStore {
  readonly serverId: string;
  readonly maxShareSize: number;
  readonly layout: Layout;
  readonly #opts: ResolvedOptions;
  readonly #partials: PartialTable;
  readonly #shares: ShareFiles;
  readonly #leases: LeaseBook;
  readonly #corruption: CorruptionLog;
  readonly #locks = new KeyedMutex();
  readonly #inflight = new Set<Promise<unknown>>();
  #lastSweep: SweepResult | null = null;
  #closed = false;

  private constructor(init: {
    serverId: string;
    layout: Layout;
    options: ResolvedOptions;
    partials: PartialTable;
    leases: LeaseBook;
    corruption: CorruptionLog;
  }) {
    this.serverId = init.serverId;
    this.layout = init.layout;
    this.#opts = init.options;
    this.maxShareSize = init.options.maxShareSize ?? DEFAULT_MAX_SHARE_SIZE;
    this.#partials = init.partials;
    this.#shares = new ShareFiles(init.layout);
    this.#leases = init.leases;
    this.#corruption = init.corruption;
  }

  /** Opens (creating if needed) a store in `options.dir`, recovering partial shares. */
  static async open(options: DiskStoreOptions): Promise<DiskShareStore> {
    const layout = new Layout(options.dir);
    await mkdirDurable(layout.root, 0o700);
    for (const d of [layout.sharesRoot, layout.incomingRoot, layout.leasesRoot]) await mkdirDurable(d);
    const serverId = await loadOrCreateServerId(layout.serverIdPath);
    const partials = await recoverPartials(layout, options.log);
    const corruption = await CorruptionLog.open(layout.corruptionDir, options.maxCorruptionReports ?? 1000);
    const root = layout.root;
    const full: ResolvedOptions = {
      ...options,
      reservedSpace: options.reservedSpace ?? 0,
      partialIdleMs: options.partialIdleMs ?? 7 * DAY_MS,
      defaultLeaseMs: options.defaultLeaseMs ?? 31 * DAY_MS,
      clock: options.clock ?? Date.now,
      freeSpace:
        options.freeSpace ??
        (async () => {
          const s = await fs.statfs(root);
          return s.bavail * s.bsize;
        }),
    };
    return new DiskShareStore({
      serverId,
      layout,
      options: full,
      partials: new PartialTable(layout, partials),
      leases: new LeaseBook(layout),
      corruption,
    });
  }

  // ---- bookkeeping ----

  /** Runs an operation (validation included, so every failure is a rejection) and tracks it for close(). */
  #op<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new FerryError('UNAVAILABLE', 'storage is shutting down'));
    const p = Promise.resolve().then(fn);
    this.#inflight.add(p);
    const forget = () => this.#inflight.delete(p);
    p.then(forget, forget);
    return p;
  }

  static #check(si: string, shnum?: number): void {
    parseStorageIndex(si);
    if (shnum !== undefined) checkShareNumber(shnum);
  }

  /** Validates and returns the lock key suffix `si` or `si/shnum`. */
  static #checked(si: string, shnum?: number): string {
    DiskShareStore.#check(si, shnum);
    return shnum === undefined ? si : `${si}/${shnum}`;
  }

  // ---- ShareStore ----

  space(): Promise<SpaceInfo> {
    return this.#op(() => this.#space());
  }

  async #space(): Promise<SpaceInfo> {
    const free = Math.max(0, Math.floor(await this.#opts.freeSpace()));
    const reserved = this.#opts.reservedSpace;
    const { outstanding } = this.#partials.totals();
    return { free, reserved, outstanding, available: Math.max(0, free - reserved - outstanding) };
  }

  allocate(si: string, input: AllocateInput): Promise<AllocateResult> {
    return this.#op(() => {
      DiskShareStore.#check(si);
      const { shareSize } = input;
      const shnums = checkAllocation(shareSize, input.shareNumbers, this.maxShareSize);
      const leaseMs = input.leaseMs ?? this.#opts.defaultLeaseMs;
      return this.#locks.run('space', () => this.#locks.run(`si:${si}`, () => this.#allocate(si, shareSize, shnums, leaseMs)));
    });
  }

  async #allocate(si: string, shareSize: number, shnums: number[], leaseMs: number): Promise<AllocateResult> {
    const alreadyHave: number[] = [];
    const resumed: number[] = [];
    const fresh: number[] = [];
    for (const n of shnums) {
      const partial = this.#partials.get(si, n);
      if (partial) {
        if (partial.size !== shareSize) {
          throw new FerryError('CONFLICT', `share ${n} is already being uploaded with size ${partial.size}, not ${shareSize}`, {
            details: { shareNumber: n, allocatedSize: partial.size },
          });
        }
        resumed.push(n);
      } else if ((await this.#shares.size(si, n)) !== undefined) {
        alreadyHave.push(n);
      } else {
        fresh.push(n);
      }
    }
    if (fresh.length > 0) checkSpace(fresh.length, shareSize, await this.#space());
    const now = this.#opts.clock();
    const created: number[] = [];
    let lease: Lease;
    try {
      for (const n of fresh) {
        created.push(n);
        await this.#partials.create(si, n, shareSize, now);
      }
      lease = await this.#leases.extend(si, now + leaseMs, now);
    } catch (err) {
      for (const n of created) await this.#partials.remove(si, n);
      throw err;
    }
    const allocated = [...resumed, ...fresh].sort((a, b) => a - b);
    const missing = new Map<number, Interval[]>();
    for (const n of allocated) missing.set(n, complement(this.#partials.get(si, n)?.received ?? [], shareSize));
    return { alreadyHave, allocated, missing, leaseExpiresAt: lease.expiresAt };
  }

  write(si: string, shnum: number, range: WriteRange, body: AsyncIterable<Uint8Array>): Promise<ShareProgress> {
    return this.#op(() => {
      DiskShareStore.#check(si, shnum);
      return this.#locks.run(`share:${si}/${shnum}`, () => this.#write(si, shnum, range, body));
    });
  }

  static #checkRange(range: WriteRange, size: number): void {
    if (range.total !== undefined && range.total !== size) {
      throw new FerryError('INVALID_RANGE', `Content-Range total ${range.total} does not match the allocated share size ${size}`);
    }
    if (range.start < 0 || range.end <= range.start || range.end > size) {
      throw new FerryError('INVALID_RANGE', `bytes ${range.start}-${range.end - 1} are outside the ${size}-byte share`);
    }
  }

  async #write(si: string, shnum: number, range: WriteRange, body: AsyncIterable<Uint8Array>): Promise<ShareProgress> {
    const partial = this.#partials.get(si, shnum);
    if (!partial) {
      // A retry of a chunk whose 201 got lost: accept identical bytes.
      const size = await this.#shares.size(si, shnum);
      if (size === undefined) throw new FerryError('NOT_FOUND', `share ${shnum} of ${si} is not allocated; allocate it first`);
      DiskShareStore.#checkRange(range, size);
      const handle = await fs.open(this.layout.sharePath(si, shnum), 'r');
      try {
        await writeChunk(handle, [[0, size]], range, body);
      } finally {
        await handle.close();
      }
      return { shareSize: size, complete: true, missing: [] };
    }
    DiskShareStore.#checkRange(range, partial.size);
    const handle = await fs.open(this.layout.partialPath(si, shnum), 'r+');
    try {
      await writeChunk(handle, partial.received, range, body);
      await handle.sync();
    } finally {
      await handle.close();
    }
    const received = addInterval(partial.received, [range.start, range.end]);
    if (coversAll(received, partial.size)) {
      await this.#locks.run(`si:${si}`, () => this.#partials.promote(si, shnum));
      return { shareSize: partial.size, complete: true, missing: [] };
    }
    const next: PartialMeta = { ...partial, received, lastWriteAt: this.#opts.clock() };
    await this.#partials.update(si, shnum, next);
    return { shareSize: partial.size, complete: false, missing: complement(received, partial.size) };
  }

  progress(si: string, shnum: number): Promise<ShareProgress> {
    return this.#op(async () => {
      DiskShareStore.#check(si, shnum);
      const partial = this.#partials.get(si, shnum);
      if (partial) return { shareSize: partial.size, complete: false, missing: complement(partial.received, partial.size) };
      const size = await this.#shares.size(si, shnum);
      if (size === undefined) throw new FerryError('NOT_FOUND', `no share ${shnum} for ${si}`);
      return { shareSize: size, complete: true, missing: [] };
    });
  }

  abort(si: string, shnum: number): Promise<void> {
    return this.#op(() =>
      this.#locks.run(`share:${DiskShareStore.#checked(si, shnum)}`, () =>
        this.#locks.run(`si:${si}`, async () => {
          if (this.#partials.get(si, shnum)) return this.#partials.remove(si, shnum);
          if ((await this.#shares.size(si, shnum)) !== undefined) {
            throw new FerryError('CONFLICT', `share ${shnum} of ${si} is complete; only uploads in progress can be aborted`);
          }
          throw new FerryError('NOT_FOUND', `no upload in progress for share ${shnum} of ${si}`);
        }),
      ),
    );
  }

  list(si: string): Promise<number[]> {
    return this.#op(() => {
      DiskShareStore.#check(si);
      return this.#shares.list(si);
    });
  }

  open(si: string, shnum: number): Promise<ShareReader> {
    return this.#op(async () => {
      DiskShareStore.#check(si, shnum);
      const reader = await this.#shares.open(si, shnum);
      if (!reader) throw new FerryError('NOT_FOUND', `no share ${shnum} for ${si}`);
      return reader;
    });
  }

  reportCorruption(si: string, shnum: number, reason: string): Promise<CorruptionReport> {
    return this.#op(async () => {
      DiskShareStore.#check(si, shnum);
      if ((await this.#shares.size(si, shnum)) === undefined) throw new FerryError('NOT_FOUND', `no share ${shnum} for ${si}`);
      const report = await this.#corruption.record(si, shnum, reason, this.#opts.clock());
      this.#opts.log?.warn({ si, shnum, reason: reason.slice(0, 200) }, 'corruption reported');
      return report;
    });
  }

  renewLease(si: string, leaseMs?: number): Promise<Lease> {
    return this.#op(() =>
      this.#locks.run(`si:${DiskShareStore.#checked(si)}`, async () => {
        if (!this.#partials.has(si) && (await this.#shares.list(si)).length === 0) {
          throw new FerryError('NOT_FOUND', `nothing is stored for ${si}`);
        }
        const now = this.#opts.clock();
        return this.#leases.extend(si, now + (leaseMs ?? this.#opts.defaultLeaseMs), now);
      }),
    );
  }

  status(): Promise<StoreStatus> {
    return this.#op(async () => {
      const p = this.#partials.totals();
      return {
        serverId: this.serverId,
        space: await this.#space(),
        shares: await countShares(this.layout),
        partials: { count: p.count, receivedBytes: p.received, outstandingBytes: p.outstanding },
        leases: await countLeases(this.#leases, this.#opts.clock()),
        corruption: { count: this.#corruption.count, recent: this.#corruption.recent() },
        lastSweep: this.#lastSweep,
      };
    });
  }

  sweep(): Promise<SweepResult> {
    return this.#op(async () => {
      const result = await sweepStore({
        now: this.#opts.clock(),
        partialIdleMs: this.#opts.partialIdleMs,
        partials: () => this.#partials.entries(),
        isBusy: (si, shnum) => this.#locks.isLocked(`share:${si}/${shnum}`),
        removePartial: (si, shnum, stillExpired) =>
          this.#locks.run(`share:${si}/${shnum}`, () =>
            this.#locks.run(`si:${si}`, async () => {
              const meta = this.#partials.get(si, shnum);
              if (!meta || !stillExpired(meta)) return undefined;
              await this.#partials.remove(si, shnum);
              return coveredLength(meta.received);
            }),
          ),
        leases: this.#leases,
        expireStorageIndex: (si, isExpired) =>
          this.#locks.run(`si:${si}`, async () => {
            const lease = await this.#leases.get(si);
            if (!lease || !isExpired(lease)) return undefined;
            const { deleted, freed } = await this.#shares.deleteAll(si);
            // Keep the (expired) lease while uploads are in progress, so what they complete is still governed by it.
            if (this.#partials.has(si)) return deleted > 0 ? { deleted, freed } : undefined;
            await this.#leases.remove(si);
            return { deleted, freed };
          }),
      });
      this.#lastSweep = result;
      if (result.expiredPartials || result.expiredLeases) this.#opts.log?.info({ ...result }, 'sweep removed expired data');
      return result;
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }
}
