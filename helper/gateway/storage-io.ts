/**
 * The gateway's only way to talk to storage servers: list, ranged read and
 * corruption report, each bounded by a timeout and tied to the caller's
 * AbortSignal, each counted in GatewayStats, each timing the server
 * (an EWMA of its answer time, which decides whom to ask first).
 */
import { setMaxListeners } from 'node:events';
import { FerryError, isFerryError } from '../../core/errors.js';
import type { CallOpts } from '../grid/grid.js';
import type { GatewayStats } from './stats.js';

/** What the gateway needs from a storage client (StorageClient has all of it). */
export interface GatewayStorageClient {
  list(si: string, opts?: CallOpts): Promise<number[]>;
  read(si: string, shnum: number, start: number, end: number, opts?: CallOpts): Promise<Uint8Array>;
  /** When present, block reads stream straight into a buffer of the gateway's (no extra copy). */
  readStream?(si: string, shnum: number, start: number, end: number, opts?: CallOpts): Promise<{ start: number; end: number; body: AsyncIterable<Uint8Array> & { destroy(): void } }>;
  reportCorruption?(si: string, shnum: number, reason: string, opts?: CallOpts): Promise<unknown>;
}

export interface GatewayServer {
  /** Stable id when known, else the URL: only used as a map key and in messages. */
  id: string;
  url: string;
  client: GatewayStorageClient;
}

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

export interface IoOptions {
  stats: GatewayStats;
  latency: ServerLatency;
  /** Per call (default 30 s): a server that does not answer within it is treated as failed. */
  timeoutMs: number;
}

/**
 * Runs `fn` with a signal that fires when the parent does or after `timeoutMs`.
 * The timer is always cleared and the listener always removed, so nothing
 * outlives the call. A timeout becomes FerryError TIMEOUT, a parent abort ABORTED.
 */
export async function withTimeout<T>(
  io: IoOptions,
  server: GatewayServer,
  parent: AbortSignal | undefined,
  what: string,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  if (parent?.aborted) throw new FerryError('ABORTED', `${what}: aborted`, { cause: parent.reason });
  const ac = new AbortController();
  setMaxListeners(0, ac.signal);
  let timedOut = false;
  const onAbort = () => ac.abort(parent?.reason);
  parent?.addEventListener('abort', onAbort, { once: true });
  io.stats.timersArmed++;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort(new FerryError('TIMEOUT', `${what}: no answer from ${server.url} within ${io.timeoutMs} ms`));
  }, io.timeoutMs);
  const t0 = performance.now();
  try {
    const out = await fn(ac.signal);
    io.latency.observe(server.id, performance.now() - t0);
    return out;
  } catch (err) {
    if (parent?.aborted) throw new FerryError('ABORTED', `${what}: aborted`, { cause: parent.reason });
    if (timedOut) {
      io.latency.penalize(server.id, io.timeoutMs);
      throw new FerryError('TIMEOUT', `${what}: no answer from ${server.url} within ${io.timeoutMs} ms`, { cause: err });
    }
    if (!isFerryError(err) || err.code === 'UPSTREAM_ERROR') io.latency.penalize(server.id, 10 * io.latency.estimate(server.id) + 1000);
    throw err;
  } finally {
    clearTimeout(timer);
    io.stats.timersArmed--;
    parent?.removeEventListener('abort', onAbort);
  }
}

/** Bytes [start, end) of a share; exactly that many or an error. */
export async function readShareRange(
  io: IoOptions,
  server: GatewayServer,
  si: string,
  shnum: number,
  start: number,
  end: number,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  io.stats.shareReadsInFlight++;
  io.stats.shareReads++;
  try {
    const bytes = await withTimeout(io, server, signal, `read of share ${shnum} [${start}, ${end})`, (s) => server.client.read(si, shnum, start, end, { signal: s }));
    io.stats.bytesFromStorage += bytes.length;
    if (bytes.length !== end - start) {
      // The storage server clamps a read to the share's size: a short share is a damaged one.
      throw new FerryError('CORRUPT_SHARE', `share ${shnum} on ${server.url} ends before byte ${end}`, { details: { shnum } });
    }
    return bytes;
  } finally {
    io.stats.shareReadsInFlight--;
  }
}

/**
 * Bytes [start, end) of a share, placed after `prefix` in one fresh buffer
 * (`prefix || bytes`), ready for a framed digest.
 */
export async function readShareFramed(
  io: IoOptions,
  server: GatewayServer,
  si: string,
  shnum: number,
  start: number,
  end: number,
  prefix: Buffer,
  signal: AbortSignal | undefined,
): Promise<Buffer> {
  const client = server.client;
  if (typeof client.readStream !== 'function') {
    const bytes = await readShareRange(io, server, si, shnum, start, end, signal);
    const out = Buffer.allocUnsafe(prefix.length + bytes.length);
    prefix.copy(out, 0);
    out.set(bytes, prefix.length);
    return out;
  }
  const stream = client.readStream.bind(client);
  io.stats.shareReadsInFlight++;
  io.stats.shareReads++;
  try {
    return await withTimeout(io, server, signal, `read of share ${shnum} [${start}, ${end})`, async (s) => {
      const r = await stream(si, shnum, start, end, { signal: s });
      const want = end - start;
      const out = Buffer.allocUnsafe(prefix.length + want);
      prefix.copy(out, 0);
      let got = 0;
      try {
        for await (const chunk of r.body) {
          if (got + chunk.length > want) throw new FerryError('UPSTREAM_ERROR', `storage server ${server.url} sent more bytes than asked`);
          out.set(chunk, prefix.length + got);
          got += chunk.length;
          io.stats.bytesFromStorage += chunk.length;
        }
      } catch (err) {
        r.body.destroy();
        if (isFerryError(err)) throw err;
        throw new FerryError('UPSTREAM_ERROR', `storage server ${server.url} failed mid-body: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      if (got !== want) throw new FerryError('CORRUPT_SHARE', `share ${shnum} on ${server.url} ends before byte ${end}`, { details: { shnum } });
      return out;
    });
  } finally {
    io.stats.shareReadsInFlight--;
  }
}

export async function listShares(io: IoOptions, server: GatewayServer, si: string): Promise<number[]> {
  io.stats.shareReadsInFlight++;
  try {
    return await withTimeout(io, server, undefined, `share list`, (s) => server.client.list(si, { signal: s }));
  } finally {
    io.stats.shareReadsInFlight--;
  }
}

/** Tells a server one of its shares is bad. Best effort: never throws, never blocks the download. */
export function reportCorruption(io: IoOptions, server: GatewayServer, si: string, shnum: number, reason: string, log?: (msg: string) => void): void {
  const report = server.client.reportCorruption;
  if (typeof report !== 'function') return;
  io.stats.corruptionReports++;
  io.stats.shareReadsInFlight++;
  withTimeout(io, server, undefined, 'corruption report', (s) => report.call(server.client, si, shnum, reason.slice(0, 1000), { signal: s }))
    .catch((err: unknown) => log?.(`corruption report to ${server.url} failed: ${err instanceof Error ? err.message : String(err)}`))
    .finally(() => io.stats.shareReadsInFlight--);
}
