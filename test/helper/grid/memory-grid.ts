/**
 * A storage server in memory implementing the whole GridClient contract, for
 * tests that need a grid without HTTP: the contract suite runs against it and
 * against StorageClient over a real server, so the two cannot drift apart.
 */
import { FerryError } from '../../../core/errors.js';
import type { CallOpts, GridClient, GridServer, ShareStream, StreamedBody } from '../../../helper/grid/grid.js';

/** A streamed body's bytes; fewer or more than promised is refused as a server would. `check` sees the count so far. */
async function collect(body: StreamedBody, check: (received: number) => void): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let received = 0;
  for await (const part of body.stream) {
    parts.push(part);
    check((received += part.length));
  }
  const data = Buffer.concat(parts);
  if (data.length !== body.length) throw new FerryError('INVALID_RANGE', `body has ${data.length} bytes, promised ${body.length}`);
  return data;
}

interface StoredShare {
  bytes: Uint8Array;
  /** Bytes received so far, as sorted disjoint intervals. */
  have: [number, number][];
}

export interface MemoryServerFaults {
  /** Every call fails as an unreachable server would. */
  down?: boolean;
  /** Reads fail (lists still answer). */
  failReads?: boolean;
  /** Writes fail once this many bytes were accepted. */
  failWritesAfter?: number;
}

function missingOf(share: StoredShare): [number, number][] {
  const out: [number, number][] = [];
  let at = 0;
  for (const [a, b] of share.have) {
    if (a > at) out.push([at, a]);
    at = Math.max(at, b);
  }
  if (at < share.bytes.length) out.push([at, share.bytes.length]);
  return out;
}

function addInterval(have: [number, number][], a: number, b: number): [number, number][] {
  const all = [...have, [a, b] as [number, number]].sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const iv of all) {
    const last = out[out.length - 1];
    if (last && iv[0] <= last[1]) last[1] = Math.max(last[1], iv[1]);
    else out.push([iv[0], iv[1]]);
  }
  return out;
}

export class MemoryStorage implements GridClient {
  readonly shares = new Map<string, Map<number, StoredShare>>();
  readonly corruptionReports: { si: string; shnum: number; reason: string }[] = [];
  readonly leases = new Map<string, number>();
  faults: MemoryServerFaults = {};
  bytesWritten = 0;
  writes: { shnum: number; offset: number; length: number }[] = [];

  constructor(readonly serverId: string) {}

  private check(opts?: CallOpts): void {
    opts?.signal?.throwIfAborted();
    if (this.faults.down) throw new FerryError('UPSTREAM_ERROR', `${this.serverId}: connection refused`);
  }

  private complete(si: string): Map<number, StoredShare> {
    const out = new Map<number, StoredShare>();
    for (const [s, share] of this.shares.get(si) ?? []) if (missingOf(share).length === 0) out.set(s, share);
    return out;
  }

  async info(opts?: CallOpts) {
    this.check(opts);
    return { serverId: this.serverId, availableSpace: 1 << 30 };
  }

  async list(si: string, opts?: CallOpts) {
    this.check(opts);
    return [...this.complete(si).keys()].sort((a, b) => a - b);
  }

  async read(si: string, shnum: number, start: number, end: number, opts?: CallOpts) {
    this.check(opts);
    if (this.faults.failReads) throw new FerryError('UPSTREAM_ERROR', `${this.serverId}: read failed`);
    const share = this.complete(si).get(shnum);
    if (!share) throw new FerryError('NOT_FOUND', `no share ${shnum} of ${si}`);
    if (start >= share.bytes.length) throw new FerryError('RANGE_NOT_SATISFIABLE', `${start} is past the end`);
    return new Uint8Array(share.bytes.subarray(start, Math.min(end, share.bytes.length)));
  }

  async readStream(si: string, shnum: number, start: number, end: number, opts?: CallOpts): Promise<ShareStream> {
    const bytes = await this.read(si, shnum, start, end, opts);
    async function* chunks() {
      yield bytes;
    }
    return { start, end: start + bytes.length, body: Object.assign(chunks(), { destroy: () => undefined }) };
  }

  async allocate(si: string, shareSize: number, shareNumbers: number[], opts?: CallOpts) {
    this.check(opts);
    if (!Number.isSafeInteger(shareSize) || shareSize <= 0) throw new FerryError('INVALID_PARAMETERS', `share size must be a positive integer, got ${shareSize}`);
    let shares = this.shares.get(si);
    if (!shares) this.shares.set(si, (shares = new Map()));
    const alreadyHave: number[] = [];
    const allocated: number[] = [];
    const missing: Record<string, [number, number][]> = {};
    for (const s of shareNumbers) {
      let share = shares.get(s);
      if (share && share.bytes.length !== shareSize) throw new FerryError('CONFLICT', `share ${s} exists with another size`);
      if (!share) shares.set(s, (share = { bytes: new Uint8Array(shareSize), have: [] }));
      const gaps = missingOf(share);
      if (gaps.length === 0) alreadyHave.push(s);
      else {
        allocated.push(s);
        missing[String(s)] = gaps;
      }
    }
    return { alreadyHave, allocated, missing };
  }

  async write(si: string, shnum: number, offset: number, body: Uint8Array | StreamedBody, opts?: CallOpts) {
    this.check(opts);
    const limit = this.faults.failWritesAfter;
    // A server failing mid-body fails the write as soon as it gets there.
    const data = body instanceof Uint8Array ? body : await collect(body, (got) => {
      if (limit !== undefined && this.bytesWritten + got > limit) throw new FerryError('UPSTREAM_ERROR', `${this.serverId}: connection reset`);
    });
    if (limit !== undefined && this.bytesWritten + data.length > limit) throw new FerryError('UPSTREAM_ERROR', `${this.serverId}: connection reset`);
    const share = this.shares.get(si)?.get(shnum);
    if (!share) throw new FerryError('NOT_FOUND', `share ${shnum} of ${si} was not allocated`);
    if (offset + data.length > share.bytes.length) throw new FerryError('INVALID_RANGE', 'write past the end of the share');
    share.bytes.set(data, offset);
    share.have = addInterval(share.have, offset, offset + data.length);
    this.bytesWritten += data.length;
    this.writes.push({ shnum, offset, length: data.length });
    return { complete: missingOf(share).length === 0 };
  }

  async reportCorruption(si: string, shnum: number, reason: string, opts?: CallOpts) {
    this.check(opts);
    this.corruptionReports.push({ si, shnum, reason });
    return { recorded: true };
  }

  async renewLease(si: string, opts?: CallOpts) {
    this.check(opts);
    const expiresAt = Date.now() + 31 * 24 * 3600 * 1000;
    this.leases.set(si, expiresAt);
    return { expiresAt };
  }

  async abort(si: string, shnum: number, opts?: CallOpts) {
    this.check(opts);
    const share = this.shares.get(si)?.get(shnum);
    if (share && missingOf(share).length > 0) this.shares.get(si)!.delete(shnum);
  }

  async close() {}

  /** Puts a complete share in place (as if uploaded earlier). */
  put(si: string, shnum: number, bytes: Uint8Array): void {
    let shares = this.shares.get(si);
    if (!shares) this.shares.set(si, (shares = new Map()));
    shares.set(shnum, { bytes: new Uint8Array(bytes), have: [[0, bytes.length]] });
  }
}

/** `count` in-memory servers, ids m0, m1, … */
export function memoryGrid(count: number): { servers: GridServer[]; stores: MemoryStorage[] } {
  const stores = Array.from({ length: count }, (_, i) => new MemoryStorage(`m${i}`));
  return { stores, servers: stores.map((client, i) => ({ id: `m${i}`, url: `mem://m${i}`, client })) };
}
