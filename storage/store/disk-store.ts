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
import { mkdirDurable, readdirIfExists, renameDurable, rmdirIfEmpty, unlinkDurable } from '../../runtime/fs/durable.js';
import { addInterval, complement, coveredLength, coversAll, type Interval } from '../../runtime/intervals.js';
import { KeyedMutex } from '../../runtime/lock.js';
import { formatSize } from '../../runtime/size.js';
import { writeChunk } from './chunk.js';
import { CorruptionLog } from './corruption.js';
import { Layout, checkShareNumber, shareNumberFromName } from './layout.js';
import { LeaseBook } from './leases.js';
import { recoverPartials, type PartialIndex } from './recover.js';
import { saveSidecar, type PartialMeta } from './sidecar.js';
import { loadOrCreateServerId } from './server-id.js';
import { openShareReader } from './reader.js';
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
  readonly #partials: PartialIndex;
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
    partials: PartialIndex;
    leases: LeaseBook;
    corruption: CorruptionLog;
  }) {
    this.serverId = init.serverId;
    this.layout = init.layout;
    this.#opts = init.options;
    this.maxShareSize = init.options.maxShareSize ?? DEFAULT_MAX_SHARE_SIZE;
    this.#partials = init.partials;
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
    return new DiskShareStore({ serverId, layout, options: full, partials, leases: new LeaseBook(layout), corruption });
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

  #partial(si: string, shnum: number): PartialMeta | undefined {
    return this.#partials.get(si)?.get(shnum);
  }

  #outstanding(): { count: number; received: number; outstanding: number } {
    let count = 0;
    let received = 0;
    let outstanding = 0;
    for (const shares of this.#partials.values()) {
      for (const p of shares.values()) {
        const got = coveredLength(p.received);
        count++;
        received += got;
        outstanding += p.size - got;
      }
    }
    return { count, received, outstanding };
  }

  async #shareSize(si: string, shnum: number): Promise<number | undefined> {
    try {
      return (await fs.stat(this.layout.sharePath(si, shnum))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
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
    const { outstanding } = this.#outstanding();
    return { free, reserved, outstanding, available: Math.max(0, free - reserved - outstanding) };
  }

  allocate(si: string, input: AllocateInput): Promise<AllocateResult> {
    return this.#op(() => {
      DiskShareStore.#check(si);
      const { shareSize } = input;
      if (!Number.isSafeInteger(shareSize) || shareSize < 1) {
        throw new FerryError('INVALID_PARAMETERS', `share size must be a positive integer, got ${shareSize}`);
      }
      if (shareSize > this.maxShareSize) {
        throw new FerryError('PAYLOAD_TOO_LARGE', `share size ${shareSize} exceeds this server's maximum share size ${this.maxShareSize}`, {
          details: { maximumShareSize: this.maxShareSize },
        });
      }
      const shnums = [...input.shareNumbers].sort((a, b) => a - b);
      if (shnums.length === 0) throw new FerryError('INVALID_SHARE_NUMBER', 'no share numbers given');
      for (let i = 0; i < shnums.length; i++) {
        checkShareNumber(shnums[i]);
        if (i > 0 && shnums[i] === shnums[i - 1]) throw new FerryError('INVALID_SHARE_NUMBER', `share number ${shnums[i]} is listed twice`);
      }
      const leaseMs = input.leaseMs ?? this.#opts.defaultLeaseMs;
      return this.#locks.run('space', () => this.#locks.run(`si:${si}`, () => this.#allocate(si, shareSize, shnums, leaseMs)));
    });
  }

  async #allocate(si: string, shareSize: number, shnums: number[], leaseMs: number): Promise<AllocateResult> {
    const alreadyHave: number[] = [];
    const resumed: number[] = [];
    const fresh: number[] = [];
    for (const n of shnums) {
      const partial = this.#partial(si, n);
      if (partial) {
        if (partial.size !== shareSize) {
          throw new FerryError('CONFLICT', `share ${n} is already being uploaded with size ${partial.size}, not ${shareSize}`, {
            details: { shareNumber: n, allocatedSize: partial.size },
          });
        }
        resumed.push(n);
      } else if ((await this.#shareSize(si, n)) !== undefined) {
        alreadyHave.push(n);
      } else {
        fresh.push(n);
      }
    }
    const needed = fresh.length * shareSize;
    if (needed > 0) {
      const space = await this.#space();
      if (needed > space.available) {
        throw new FerryError(
          'INSUFFICIENT_STORAGE',
          `not enough space: ${fresh.length} share(s) of ${formatSize(shareSize)} need ${formatSize(needed)}, ` +
            `but only ${formatSize(space.available)} is available (free ${formatSize(space.free)}, reserved ${formatSize(space.reserved)}, ` +
            `promised to uploads in progress ${formatSize(space.outstanding)})`,
          { details: { needed, available: space.available } },
        );
      }
    }
    const now = this.#opts.clock();
    const created: number[] = [];
    let lease: Lease;
    try {
      if (fresh.length > 0) await mkdirDurable(this.layout.incomingDir(si));
      for (const n of fresh) {
        // Data file first, then the sidecar: a sidecar always has its data file.
        await (await fs.open(this.layout.partialPath(si, n), 'w', 0o644)).close();
        created.push(n);
        const meta: PartialMeta = { size: shareSize, received: [], createdAt: now, lastWriteAt: now };
        await saveSidecar(this.layout.sidecarPath(si, n), meta);
        this.#setPartial(si, n, meta);
      }
      lease = await this.#leases.extend(si, now + leaseMs, now);
    } catch (err) {
      for (const n of created) await this.#removePartial(si, n);
      throw err;
    }
    const allocated = [...resumed, ...fresh].sort((a, b) => a - b);
    const missing = new Map<number, Interval[]>();
    for (const n of allocated) missing.set(n, complement(this.#partial(si, n)?.received ?? [], shareSize));
    return { alreadyHave, allocated, missing, leaseExpiresAt: lease.expiresAt };
  }

  #setPartial(si: string, shnum: number, meta: PartialMeta): void {
    let shares = this.#partials.get(si);
    if (!shares) this.#partials.set(si, (shares = new Map()));
    shares.set(shnum, meta);
  }

  /** Deletes a partial share's files and index entry. Caller holds `si:` (or has just created it). */
  async #removePartial(si: string, shnum: number): Promise<void> {
    await unlinkDurable(this.layout.sidecarPath(si, shnum));
    await unlinkDurable(this.layout.partialPath(si, shnum));
    const shares = this.#partials.get(si);
    shares?.delete(shnum);
    if (shares && shares.size === 0) {
      this.#partials.delete(si);
      await rmdirIfEmpty(this.layout.incomingDir(si));
    }
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
    const partial = this.#partial(si, shnum);
    if (!partial) {
      // A retry of a chunk whose 201 got lost: accept identical bytes.
      const size = await this.#shareSize(si, shnum);
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
      await this.#locks.run(`si:${si}`, () => this.#complete(si, shnum));
      return { shareSize: partial.size, complete: true, missing: [] };
    }
    const next: PartialMeta = { ...partial, received, lastWriteAt: this.#opts.clock() };
    await saveSidecar(this.layout.sidecarPath(si, shnum), next);
    this.#setPartial(si, shnum, next);
    return { shareSize: partial.size, complete: false, missing: complement(received, partial.size) };
  }

  /** Moves a fully received (and fsynced) partial into shares/. */
  async #complete(si: string, shnum: number): Promise<void> {
    await mkdirDurable(this.layout.shareDir(si));
    await renameDurable(this.layout.partialPath(si, shnum), this.layout.sharePath(si, shnum));
    await this.#removePartial(si, shnum);
  }

  progress(si: string, shnum: number): Promise<ShareProgress> {
    return this.#op(async () => {
      DiskShareStore.#check(si, shnum);
      const partial = this.#partial(si, shnum);
      if (partial) return { shareSize: partial.size, complete: false, missing: complement(partial.received, partial.size) };
      const size = await this.#shareSize(si, shnum);
      if (size === undefined) throw new FerryError('NOT_FOUND', `no share ${shnum} for ${si}`);
      return { shareSize: size, complete: true, missing: [] };
    });
  }

  abort(si: string, shnum: number): Promise<void> {
    return this.#op(() =>
      this.#locks.run(`share:${DiskShareStore.#checked(si, shnum)}`, () =>
        this.#locks.run(`si:${si}`, async () => {
          if (this.#partial(si, shnum)) return this.#removePartial(si, shnum);
          if ((await this.#shareSize(si, shnum)) !== undefined) {
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
      return this.#list(si);
    });
  }

  async #list(si: string): Promise<number[]> {
    const out: number[] = [];
    for (const name of await readdirIfExists(this.layout.shareDir(si))) {
      const n = shareNumberFromName(name);
      if (n !== undefined) out.push(n);
    }
    return out.sort((a, b) => a - b);
  }

  open(si: string, shnum: number): Promise<ShareReader> {
    return this.#op(async () => {
      DiskShareStore.#check(si, shnum);
      const reader = await openShareReader(this.layout.sharePath(si, shnum));
      if (!reader) throw new FerryError('NOT_FOUND', `no share ${shnum} for ${si}`);
      return reader;
    });
  }

  reportCorruption(si: string, shnum: number, reason: string): Promise<CorruptionReport> {
    return this.#op(async () => {
      DiskShareStore.#check(si, shnum);
      if ((await this.#shareSize(si, shnum)) === undefined) throw new FerryError('NOT_FOUND', `no share ${shnum} for ${si}`);
      const report = await this.#corruption.record(si, shnum, reason, this.#opts.clock());
      this.#opts.log?.warn({ si, shnum, reason: reason.slice(0, 200) }, 'corruption reported');
      return report;
    });
  }

  renewLease(si: string, leaseMs?: number): Promise<Lease> {
    return this.#op(() =>
      this.#locks.run(`si:${DiskShareStore.#checked(si)}`, async () => {
        if (!this.#partials.has(si) && (await this.#list(si)).length === 0) {
          throw new FerryError('NOT_FOUND', `nothing is stored for ${si}`);
        }
        const now = this.#opts.clock();
        return this.#leases.extend(si, now + (leaseMs ?? this.#opts.defaultLeaseMs), now);
      }),
    );
  }

  status(): Promise<StoreStatus> {
    return this.#op(async () => {
      const space = await this.#space();
      const now = this.#opts.clock();
      const shares = { storageIndexes: 0, count: 0, bytes: 0 };
      for (const prefix of await readdirIfExists(this.layout.sharesRoot)) {
        for (const si of await readdirIfExists(`${this.layout.sharesRoot}/${prefix}`)) {
          let any = false;
          for (const name of await readdirIfExists(`${this.layout.sharesRoot}/${prefix}/${si}`)) {
            if (shareNumberFromName(name) === undefined) continue;
            const st = await fs.stat(`${this.layout.sharesRoot}/${prefix}/${si}/${name}`).catch(() => undefined);
            if (!st) continue;
            any = true;
            shares.count++;
            shares.bytes += st.size;
          }
          if (any) shares.storageIndexes++;
        }
      }
      const leases = { count: 0, expired: 0 };
      for await (const si of this.#leases.storageIndexes()) {
        const lease = await this.#leases.get(si);
        if (!lease) continue;
        leases.count++;
        if (lease.expiresAt <= now) leases.expired++;
      }
      const p = this.#outstanding();
      return {
        serverId: this.serverId,
        space,
        shares,
        partials: { count: p.count, receivedBytes: p.received, outstandingBytes: p.outstanding },
        leases,
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
        partials: () => [...this.#partials].flatMap(([si, m]) => [...m].map(([n, meta]) => ({ si, shnum: n, meta }))),
        isBusy: (si, shnum) => this.#locks.isLocked(`share:${si}/${shnum}`),
        removePartial: (si, shnum, stillExpired) =>
          this.#locks.run(`share:${si}/${shnum}`, () =>
            this.#locks.run(`si:${si}`, async () => {
              const meta = this.#partial(si, shnum);
              if (!meta || !stillExpired(meta)) return undefined;
              await this.#removePartial(si, shnum);
              return coveredLength(meta.received);
            }),
          ),
        leases: this.#leases,
        expireStorageIndex: (si, isExpired) =>
          this.#locks.run(`si:${si}`, async () => {
            const lease = await this.#leases.get(si);
            if (!lease || !isExpired(lease)) return undefined;
            let deleted = 0;
            let freed = 0;
            for (const n of await this.#list(si)) {
              const file = this.layout.sharePath(si, n);
              freed += (await this.#shareSize(si, n)) ?? 0;
              if (await unlinkDurable(file)) deleted++;
            }
            await rmdirIfEmpty(this.layout.shareDir(si));
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
