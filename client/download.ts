/**
 * `ferry get`'s engine: fetches a file by read-cap from the helper's gateway
 * (`GET /uri/<cap>`, docs/protocol.md "Gateway").
 *
 * Why the gateway and not the storage servers: storage servers want the grid
 * token, which clients do not have (and should not: it lets its holder write
 * and delete shares); the gateway needs nothing but the capability, picks the
 * fastest servers, fails over, and verifies every block and segment before
 * sending it. The price is that the helper sees the read-cap, i.e. can read
 * the file while serving it — the same trust as any web gateway (Tahoe's
 * included); a client that must not extend that trust needs direct storage
 * access, which this release does not offer.
 *
 * To a path: bytes go to `FILE.part` (see download/part-file.ts) and FILE
 * appears, fsynced, only once complete. An interrupted download — error,
 * Ctrl-C (the AbortSignal), crash — resumes from the bytes already on disk
 * with `Range` + `If-Range`, in this run (network errors are retried with
 * backoff) or the next. To a stream (stdout for `-o -`) bytes are written as
 * they come; a connection lost mid-way is resumed at the byte it stopped at.
 */
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { etagOf, verifyCapOf } from '../core/capability.js';
import { FerryError } from '../core/errors.js';
import { requestFile } from './download/gateway-request.js';
import { gatewayTarget } from './download/gateway-target.js';
import { PartFile } from './download/part-file.js';
import { createAgent, HelperError, networkError } from './http.js';
import { abortedError, backoffDelay, CONNECT_RETRIES, DEFAULT_RETRY, sleep, throwIfAborted, type RetryPolicy } from './retry.js';

export interface DownloadProgress {
  bytes: number;
  total: number;
  /** Bytes that were already there when this run started (a resumed download). */
  resumedFrom?: number;
}

export interface DownloadOptions {
  /** The configured helper: a bare read-cap is fetched from its gateway. */
  helperUrl: string;
  /**
   * Client token, sent only if the gateway answers 401 (Ferry's does not: the
   * capability is the credential), and only to `helperUrl`'s origin: a cap URL
   * naming another gateway never gets it (download/gateway-target.ts).
   */
  token?: string;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** Keep what an earlier interrupted run left in FILE.part (default true); false starts over. */
  resume?: boolean;
  /** Consecutive failures without progress tolerated, and the backoff between them. */
  retry?: Partial<RetryPolicy>;
  /** A transient failure about to be retried (resuming from the bytes received). */
  onRetry?: (err: FerryError, failure: number, of: number) => void;
  /** Longest wait for the headers or between two chunks before the connection is cut and resumed (default 120 s). */
  stallTimeoutMs?: number;
  /** HTTP dispatcher (default: an own Agent, closed when done). */
  dispatcher?: Dispatcher;
}

export interface DownloadResult {
  bytes: number;
  /** Bytes kept from an earlier run. */
  resumedFrom: number;
  /** HTTP requests made. */
  requests: number;
}

interface Sink {
  offset: number;
  close?(): void;
  write(chunk: Uint8Array): Promise<void>;
  /** The gateway sent the whole file although we asked for the rest. */
  restart(): Promise<void> | 'skip';
}

/** `cap`: a read-cap, or a cap URL (`http(s)://host/uri/<read-cap>`) naming the gateway to use. */
export async function download(cap: string, dest: string | NodeJS.WritableStream, options: DownloadOptions): Promise<DownloadResult> {
  const target = gatewayTarget(cap, options.helperUrl);
  const etag = etagOf(verifyCapOf(target.readCap));
  const size = target.readCap.size;
  const { url } = target;
  const gateway = target.configured ? { token: options.token } : { foreign: target.origin };
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const signal = options.signal;
  throwIfAborted(signal);

  let part: PartFile | undefined;
  let sink: Sink;
  if (typeof dest === 'string') {
    const p = await PartFile.open(dest, etag, size, options.resume ?? true);
    part = p;
    sink = {
      get offset() {
        return p.offset;
      },
      write: (c) => p.write(c),
      restart: () => p.restart(),
    };
  } else {
    sink = streamSink(dest, signal);
  }
  const resumedFrom = sink.offset;
  // A foreign gateway (a cap URL elsewhere) is verified the normal way, not against the helper's pin.
  const agent: Dispatcher = options.dispatcher ?? createAgent(target.configured ? options.helperUrl : undefined);
  let requests = 0;
  let answered = false;
  try {
    for (let failures = 0; ; ) {
      const before = sink.offset;
      try {
        requests++;
        const answer = await requestFile({ url, agent, offset: sink.offset, size, etag, signal, timeoutMs: options.stallTimeoutMs ?? 120_000, ...gateway });
        answered = true;
        if (answer.kind === 'complete') break;
        let skip = 0;
        if (answer.start < sink.offset) {
          const r = sink.restart();
          if (r === 'skip') skip = sink.offset;
          else await r;
        }
        await copy(answer.body, sink, skip, (bytes) => options.onProgress?.({ bytes, total: size, resumedFrom }), signal);
        if (sink.offset === size) break;
        throw new HelperError('UPSTREAM_ERROR', `download: the gateway ended after ${sink.offset} of ${size} bytes`, undefined, true);
      } catch (err) {
        if (signal?.aborted) throw abortedError(signal);
        if (!(err instanceof HelperError) || !err.retryable) throw err;
        if (err.status !== undefined) answered = true; // an HTTP answer: the helper is there
        if (sink.offset > before) failures = 0; // progress: the failure count starts over
        failures++;
        // Never reached the helper: the shared connect policy (as put's), not minutes of backoff.
        const budget = answered ? retry.attempts : Math.min(CONNECT_RETRIES, retry.attempts);
        if (failures > budget) throw err;
        options.onRetry?.(err, failures, budget);
        await sleep(backoffDelay(retry, failures, err.retryAfterMs), signal);
      }
    }
    if (sink.offset !== size) throw new FerryError('INTEGRITY_ERROR', `received ${sink.offset} bytes, the capability says ${size}`);
    options.onProgress?.({ bytes: size, total: size, resumedFrom });
    if (part) {
      await part.finish();
      part = undefined;
    }
    return { bytes: size, resumedFrom, requests };
  } finally {
    await part?.suspend().catch(() => undefined); // interrupted: keep what arrived, for the next run
    sink.close?.();
    if (!options.dispatcher) await agent.destroy().catch(() => undefined);
  }
}

/**
 * Body chunks (about 64 KiB each) are gathered into writes of this size: one
 * awaited file write per chunk kept `ferry get` at half the gateway's speed.
 */
const WRITE_BATCH_BYTES = 1024 * 1024;

/**
 * Body bytes to the sink, skipping the first `skip`. A broken connection is a
 * retryable network error; a failing sink (disk full, stdout closed) is not.
 * Whatever arrived before a break is written before the error is thrown.
 */
async function copy(body: Readable, sink: Sink, skip: number, progress: (bytes: number) => void, signal: AbortSignal | undefined): Promise<void> {
  let toSkip = skip;
  let batch: Buffer[] = [];
  let batched = 0;
  const flush = async () => {
    if (batched === 0) return;
    const bytes = batch.length === 1 ? batch[0] : Buffer.concat(batch, batched);
    batch = [];
    batched = 0;
    await sink.write(bytes);
    progress(sink.offset);
  };
  const chunks = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (err) {
        await flush();
        if (signal?.aborted) throw abortedError(signal);
        throw err instanceof FerryError ? err : networkError(err, 'download');
      }
      if (next.done) return await flush();
      let chunk = next.value;
      if (toSkip > 0) {
        const n = Math.min(toSkip, chunk.length);
        toSkip -= n;
        chunk = chunk.subarray(n);
        if (chunk.length === 0) continue;
      }
      batch.push(chunk);
      batched += chunk.length;
      if (batched >= WRITE_BATCH_BYTES) await flush();
    }
  } finally {
    body.destroy();
  }
}

/** Writes to a caller's stream (stdout), honouring its backpressure; never ends it. */
function streamSink(out: NodeJS.WritableStream, signal: AbortSignal | undefined): Sink {
  let failed: Error | undefined;
  const onError = (err: Error) => (failed = err);
  out.on('error', onError);
  const sink: Sink = {
    offset: 0,
    async write(chunk) {
      if (failed) throw new FerryError('ABORTED', `output closed: ${failed.message}`, { cause: failed });
      sink.offset += chunk.length;
      if (!out.write(chunk)) await once(out as unknown as NodeJS.EventEmitter, 'drain', { signal });
    },
    // Bytes already written cannot be taken back: skip as many of the new body.
    restart: () => 'skip',
    close: () => out.off('error', onError),
  };
  return sink;
}
