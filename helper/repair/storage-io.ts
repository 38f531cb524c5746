import { classifyShareFailure } from '../grid/share-failure.js';
/**
 * How check and repair talk to storage servers: ranged reads with a timeout
 * tied to the caller's signal, coalesced small reads, corruption reports and
 * lease renewals. The grid's client contract (helper/grid/grid.ts) covers
 * list/read/allocate/write; StorageClient also has renewLease,
 * reportCorruption and abort, which are used when present.
 */
import { setMaxListeners } from 'node:events';
import { FerryError } from '../../core/errors.js';
import type { CallOpts, GridServer, ShareServerClient } from '../grid/grid.js';

export interface RepairStorageClient extends ShareServerClient {
  renewLease?(si: string, opts?: CallOpts & { leaseSeconds?: number }): Promise<{ expiresAt: number }>;
  reportCorruption?(si: string, shnum: number, reason: string, opts?: CallOpts): Promise<unknown>;
  abort?(si: string, shnum: number, opts?: CallOpts): Promise<void>;
}

export function clientOf(server: GridServer): RepairStorageClient {
  return server.client as RepairStorageClient;
}

/** One copy of one share: share number `shnum` as stored on `server`. */
export interface ShareCopy {
  shnum: number;
  server: GridServer;
}

export function copyKey(shnum: number, serverId: string): string {
  return `${shnum}@${serverId}`;
}

export interface IoSettings {
  /** Per storage call; a server that does not answer within it counts as failed. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** What a failed read says about the copy. */
export type FailureKind = 'aborted' | 'corrupt' | 'gone' | 'unreachable';

export function classify(err: unknown): FailureKind {
  const kind = classifyShareFailure(err);
  return kind === 'missing' ? 'gone' : kind === 'transient' ? 'unreachable' : kind;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs `fn` with a signal that fires with the caller's or after the timeout; a timeout is TIMEOUT, the caller's abort ABORTED. */
export async function withTimeout<T>(io: IoSettings, what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  if (io.signal?.aborted) throw new FerryError('ABORTED', `${what}: aborted`, { cause: io.signal.reason });
  const ac = new AbortController();
  setMaxListeners(0, ac.signal);
  let timedOut = false;
  const onAbort = () => ac.abort(io.signal?.reason);
  io.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort(new FerryError('TIMEOUT', `${what}: no answer within ${io.timeoutMs} ms`));
  }, io.timeoutMs);
  try {
    return await fn(ac.signal);
  } catch (err) {
    if (io.signal?.aborted) throw new FerryError('ABORTED', `${what}: aborted`, { cause: io.signal.reason });
    if (timedOut) throw new FerryError('TIMEOUT', `${what}: no answer within ${io.timeoutMs} ms`, { cause: err });
    throw err;
  } finally {
    clearTimeout(timer);
    io.signal?.removeEventListener('abort', onAbort);
  }
}

/** Bytes [start, end) of a copy, or fewer when the share ends first (reads past the end are clamped by the server). */
export async function readUpTo(io: IoSettings, c: ShareCopy, si: string, start: number, end: number): Promise<Uint8Array> {
  if (end <= start) return new Uint8Array(0);
  return withTimeout(io, `read of share ${c.shnum} [${start}, ${end}) from ${c.server.url}`, (signal) => c.server.client.read(si, c.shnum, start, end, { signal }));
}

/** Exactly bytes [start, end) of a copy; a short answer means the share is shorter than its layout: CORRUPT_SHARE. */
export async function readExact(io: IoSettings, c: ShareCopy, si: string, start: number, end: number): Promise<Uint8Array> {
  const bytes = await readUpTo(io, c, si, start, end);
  if (bytes.length !== end - start) {
    throw new FerryError('CORRUPT_SHARE', `share ${c.shnum} on ${c.server.url} ends before byte ${end}`, { details: { shnum: c.shnum } });
  }
  return bytes;
}

/** A piece of a share someone wants. */
export interface Piece {
  start: number;
  end: number;
}

/**
 * Reads several pieces of one copy with as few range requests as `maxGap`
 * allows (pieces closer than that are read as one), in parallel. Returns the
 * pieces in the order asked. Every piece must be there in full.
 */
export async function readPieces(io: IoSettings, c: ShareCopy, si: string, pieces: Piece[], maxGap = 4096): Promise<Uint8Array[]> {
  const order = pieces.map((p, i) => ({ ...p, i })).sort((a, b) => a.start - b.start);
  const groups: { start: number; end: number; members: typeof order }[] = [];
  for (const p of order) {
    const last = groups[groups.length - 1];
    if (last && p.start - last.end <= maxGap) {
      last.end = Math.max(last.end, p.end);
      last.members.push(p);
    } else groups.push({ start: p.start, end: p.end, members: [p] });
  }
  const out = new Array<Uint8Array>(pieces.length);
  await Promise.all(
    groups.map(async (g) => {
      const bytes = await readExact(io, c, si, g.start, g.end);
      for (const m of g.members) out[m.i] = bytes.subarray(m.start - g.start, m.end - g.start);
    }),
  );
  return out;
}

/** Tells a server one of its shares is bad. Best effort: never throws. */
export async function reportCorrupt(io: IoSettings, c: ShareCopy, si: string, reason: string): Promise<boolean> {
  const client = clientOf(c.server);
  if (typeof client.reportCorruption !== 'function') return false;
  try {
    await withTimeout({ timeoutMs: io.timeoutMs }, 'corruption report', (signal) => client.reportCorruption!(si, c.shnum, reason.slice(0, 1000), { signal }));
    return true;
  } catch {
    return false;
  }
}

/** Renews the lease on `si` at every server; returns who renewed and who failed. */
export async function renewLeases(io: IoSettings, servers: GridServer[], si: string): Promise<{ renewed: string[]; failed: { server: string; error: string }[] }> {
  const renewed: string[] = [];
  const failed: { server: string; error: string }[] = [];
  await Promise.all(
    servers.map(async (s) => {
      const client = clientOf(s);
      if (typeof client.renewLease !== 'function') {
        failed.push({ server: s.id, error: 'this storage client cannot renew leases' });
        return;
      }
      try {
        await withTimeout(io, `lease renewal on ${s.url}`, (signal) => client.renewLease!(si, { signal }));
        renewed.push(s.id);
      } catch (err) {
        if (io.signal?.aborted) throw err;
        failed.push({ server: s.id, error: messageOf(err) });
      }
    }),
  );
  return { renewed: renewed.sort(), failed: failed.sort((a, b) => (a.server < b.server ? -1 : 1)) };
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
