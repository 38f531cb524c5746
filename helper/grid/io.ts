/**
 * How the helper talks to storage servers when it reads: every call bounded
 * by a timeout and tied to the caller's AbortSignal, answer times observed
 * (they decide whom the gateway asks first), exact and merged range reads,
 * corruption reports and lease renewals. Reads and reports are published as
 * `ferry:grid:*` events; the in-flight gauges the leak tests read are kept
 * in `gauges` when given.
 */
import { setMaxListeners } from 'node:events';
import { FerryError, isFerryError } from '../../core/errors.js';
import { framedBuffer, frameLength } from '../../core/tagged-hash.js';
import { publish, type EventSource } from '../diagnostics.js';
import { messageOf, type GridServer, type ShareCopy } from './grid.js';

/** Answer times per server, smoothed. Unknown servers rank after known fast ones, before known slow ones. */
export class ServerLatency {
  private readonly ewma = new Map<string, number>();

  constructor(private readonly unknownMs = 20) {}

  observe(serverId: string, ms: number): void {
    const prev = this.ewma.get(serverId);
    this.ewma.set(serverId, prev === undefined ? ms : prev * 0.7 + ms * 0.3);
  }

  /** A failure counts as a very slow answer, so the server drops to the back for a while. */
  penalize(serverId: string, ms: number): void {
    this.ewma.set(serverId, Math.max(this.ewma.get(serverId) ?? 0, ms));
  }

  estimate(serverId: string): number {
    return this.ewma.get(serverId) ?? this.unknownMs;
  }
}

/** Calls and timers not yet settled: all 0 when nothing runs (the leak tests check). */
export interface IoGauges {
  shareReadsInFlight: number;
  timersArmed: number;
}

export interface GridIo {
  /** Per storage call; a server that does not answer within it counts as failed. */
  timeoutMs: number;
  /** The caller's: aborting it aborts the call (ABORTED, not TIMEOUT). */
  signal?: AbortSignal;
  latency?: ServerLatency;
  gauges?: IoGauges;
  /** Who the `ferry:grid:*` events are attributed to. */
  source?: EventSource;
  log?: (msg: string) => void;
}

/** Pieces closer than this are read with one range request. */
export const MERGE_GAP = 1024;

const UNATTRIBUTED: EventSource = {};

/**
 * Runs `fn` with a signal that fires with the caller's or after the timeout.
 * The timer is always cleared and the listener always removed, so nothing
 * outlives the call. A timeout becomes TIMEOUT, the caller's abort ABORTED.
 * The server's answer time is taken when `fn` calls `answered` (e.g. once
 * the headers of a long body are in), else when it resolves.
 */
export async function withTimeout<T>(io: GridIo, server: GridServer, what: string, fn: (signal: AbortSignal, answered: () => void) => Promise<T>): Promise<T> {
  const parent = io.signal;
  if (parent?.aborted) throw new FerryError('ABORTED', `${what}: aborted`, { cause: parent.reason });
  const timeoutMs = io.timeoutMs;
  const ac = new AbortController();
  setMaxListeners(0, ac.signal);
  let timedOut = false;
  const onAbort = () => ac.abort(parent?.reason);
  parent?.addEventListener('abort', onAbort, { once: true });
  if (io.gauges) io.gauges.timersArmed++;
  const timeout = () => new FerryError('TIMEOUT', `${what}: no answer from ${server.url} within ${timeoutMs} ms`);
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort(timeout());
  }, timeoutMs);
  const t0 = performance.now();
  let answeredAt: number | undefined;
  try {
    const out = await fn(ac.signal, () => (answeredAt ??= performance.now()));
    io.latency?.observe(server.id, (answeredAt ?? performance.now()) - t0);
    return out;
  } catch (err) {
    if (parent?.aborted) throw new FerryError('ABORTED', `${what}: aborted`, { cause: parent.reason });
    if (timedOut) {
      io.latency?.penalize(server.id, timeoutMs);
      throw new FerryError('TIMEOUT', timeout().message, { cause: err });
    }
    if (io.latency && (!isFerryError(err) || err.code === 'UPSTREAM_ERROR')) io.latency.penalize(server.id, 10 * io.latency.estimate(server.id) + 1000);
    throw err;
  } finally {
    clearTimeout(timer);
    if (io.gauges) io.gauges.timersArmed--;
    parent?.removeEventListener('abort', onAbort);
  }
}

/** Counts a read in flight and publishes it once settled (with `size` of what it returned). */
async function tracked<T>(io: GridIo, server: GridServer, fn: () => Promise<T>, size: (out: T) => number = (out) => (out as Uint8Array).length): Promise<T> {
  if (io.gauges) io.gauges.shareReadsInFlight++;
  let bytes = 0;
  let error: string | undefined;
  try {
    const out = await fn();
    bytes = size(out);
    return out;
  } catch (err) {
    error = messageOf(err);
    throw err;
  } finally {
    if (io.gauges) io.gauges.shareReadsInFlight--;
    publish('ferry:grid:read', io.source ?? UNATTRIBUTED, () => ({ server: server.id, bytes, error }));
  }
}

function shortShare(c: ShareCopy, end: number): FerryError {
  // The storage server clamps a read to the share's size: a short share is a damaged one.
  return new FerryError('CORRUPT_SHARE', `share ${c.shnum} on ${c.server.url} ends before byte ${end}`, { details: { shnum: c.shnum } });
}

/** Bytes [start, end) of a copy, or fewer when the share ends first. */
export async function readUpTo(io: GridIo, c: ShareCopy, si: string, start: number, end: number): Promise<Uint8Array> {
  if (end <= start) return new Uint8Array(0);
  return tracked(io, c.server, () =>
    withTimeout(io, c.server, `read of share ${c.shnum} [${start}, ${end})`, (signal) => c.server.client.read(si, c.shnum, start, end, { signal })),
  );
}

/** Exactly bytes [start, end) of a copy; a short answer means the share is shorter than its layout: CORRUPT_SHARE. */
export async function readExact(io: GridIo, c: ShareCopy, si: string, start: number, end: number): Promise<Uint8Array> {
  const bytes = await readUpTo(io, c, si, start, end);
  if (bytes.length !== end - start) throw shortShare(c, end);
  return bytes;
}

/**
 * Exactly bytes [start, end) of a copy, streamed into one fresh buffer after
 * the framing of `tag` (ready for core's framedDigest, no extra copy): the
 * one-piece case of readFramedPieces, except that the server is ranked by
 * when the whole block is in (one block's body is short).
 */
export async function readFramed(io: GridIo, c: ShareCopy, si: string, start: number, end: number, tag: string): Promise<Buffer> {
  let out: Buffer | undefined;
  await readFramedPieces(io, c, si, start, [end - start], tag, (_j, framed) => (out = framed), undefined, 'body');
  // readFramedPieces resolves only once every piece was taken.
  return out as Buffer;
}

/**
 * Consecutive pieces of a copy, bytes [start, start + Σ lengths), with one
 * range request: the body is cut into the pieces as it streams in, each
 * into a fresh buffer after the framing of `tag` (as readFramed), and piece j
 * is handed to `take(j, framed)` as soon as it is complete. Resolves once all
 * were taken; rejects (as readFramed would) if the read fails, pieces already
 * taken staying valid. `alloc(length)` supplies the framed buffers (e.g.
 * recycled ones: the framing must already be in place). `rankBy` says which
 * answer time the server's latency estimate gets: when the headers arrived
 * (a run's body takes long by design) or when the whole body was in.
 */
export async function readFramedPieces(
  io: GridIo,
  c: ShareCopy,
  si: string,
  start: number,
  lengths: readonly number[],
  tag: string,
  take: (j: number, framed: Buffer) => void,
  alloc: (length: number) => Buffer = (length) => framedBuffer(tag, length),
  rankBy: 'headers' | 'body' = 'headers',
): Promise<void> {
  const offset = frameLength(tag);
  const { server } = c;
  const want = lengths.reduce((a, b) => a + b, 0);
  const end = start + want;
  await tracked(
    io,
    server,
    () =>
      withTimeout(io, server, `read of share ${c.shnum} [${start}, ${end})`, async (signal, answered) => {
        const r = await server.client.readStream(si, c.shnum, start, end, { signal });
        if (rankBy === 'headers') answered();
        let j = 0;
        let out = alloc(lengths[0]);
        let at = 0;
        let got = 0;
        // Hands on every complete piece (an empty one needs no bytes) and readies the next one's buffer.
        const takeComplete = () => {
          while (j < lengths.length && at === lengths[j]) {
            take(j++, out);
            at = 0;
            if (j < lengths.length) out = alloc(lengths[j]);
          }
        };
        try {
          takeComplete();
          for await (const chunk of r.body) {
            if (got + chunk.length > want) throw new FerryError('UPSTREAM_ERROR', `storage server ${server.url} sent more bytes than asked`);
            got += chunk.length;
            for (let used = 0; used < chunk.length; ) {
              const n = Math.min(chunk.length - used, lengths[j] - at);
              out.set(n === chunk.length ? chunk : chunk.subarray(used, used + n), offset + at);
              at += n;
              used += n;
              takeComplete();
            }
          }
        } catch (err) {
          r.body.destroy();
          if (isFerryError(err)) throw err;
          throw new FerryError('UPSTREAM_ERROR', `storage server ${server.url} failed mid-body: ${messageOf(err)}`, { cause: err });
        }
        if (got !== want) throw shortShare(c, end);
        return got;
      }),
    (bytes) => bytes,
  );
}

/** A piece of a share someone wants. */
export interface Piece {
  start: number;
  end: number;
}

/**
 * Fetches several pieces with as few calls of `read` as `maxGap` allows
 * (pieces closer than that are read as one), in parallel. Returns the pieces
 * in the order asked.
 */
export async function fetchMerged(pieces: readonly Piece[], read: (start: number, end: number) => Promise<Uint8Array>, maxGap = MERGE_GAP): Promise<Uint8Array[]> {
  const order = pieces.map((p, i) => ({ start: p.start, end: p.end, i })).sort((a, b) => a.start - b.start);
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
      const bytes = await read(g.start, g.end);
      for (const m of g.members) out[m.i] = bytes.subarray(m.start - g.start, m.end - g.start);
    }),
  );
  return out;
}

/** Several pieces of one copy, each in full (see fetchMerged). */
export function readPieces(io: GridIo, c: ShareCopy, si: string, pieces: readonly Piece[], maxGap = MERGE_GAP): Promise<Uint8Array[]> {
  return fetchMerged(pieces, (start, end) => readExact(io, c, si, start, end), maxGap);
}

/** The share numbers a server lists for `si`. */
export async function listShares(io: GridIo, server: GridServer, si: string): Promise<number[]> {
  if (io.gauges) io.gauges.shareReadsInFlight++;
  try {
    return await withTimeout(io, server, `share list`, (signal) => server.client.list(si, { signal }));
  } finally {
    if (io.gauges) io.gauges.shareReadsInFlight--;
  }
}

/** Tells a server one of its shares is bad. Best effort: never throws; true when the server took the report. */
export async function reportCorruption(io: GridIo, c: ShareCopy, si: string, reason: string): Promise<boolean> {
  const { server } = c;
  publish('ferry:grid:corruption-report', io.source ?? UNATTRIBUTED, () => ({ server: server.id, si, shnum: c.shnum }));
  if (io.gauges) io.gauges.shareReadsInFlight++;
  try {
    // Not tied to the caller's signal: a report outlives the download or repair pass that found the damage.
    await withTimeout({ ...io, signal: undefined }, server, 'corruption report', (signal) => server.client.reportCorruption(si, c.shnum, reason.slice(0, 1000), { signal }));
    return true;
  } catch (err) {
    io.log?.(`corruption report to ${server.url} failed: ${messageOf(err)}`);
    return false;
  } finally {
    if (io.gauges) io.gauges.shareReadsInFlight--;
  }
}

/** Renews the lease on `si` at every server; returns who renewed and who failed. */
export async function renewLeases(io: GridIo, servers: GridServer[], si: string): Promise<{ renewed: string[]; failed: { server: string; error: string }[] }> {
  const renewed: string[] = [];
  const failed: { server: string; error: string }[] = [];
  await Promise.all(
    servers.map(async (s) => {
      try {
        await withTimeout(io, s, `lease renewal on ${s.url}`, (signal) => s.client.renewLease(si, { signal }));
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
