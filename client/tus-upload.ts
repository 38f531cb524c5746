import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { SeekableCipher } from '../core/crypto/cipher.js';
import { FerryError, IntegrityError } from '../core/errors.js';
import { segmentRange, type FileGeometry } from '../core/params.js';
import { TUS_VERSION } from '../helper/protocol.js';
import { ciphertextChunks } from './file-source.js';
import { hashSegmentAt } from './hash-file.js';
import { errorFromResponse, HelperError, networkError } from './http.js';
import { abortedError, backoffDelay, sleep, throwIfAborted, type RetryPolicy } from './retry.js';

const READ_CHUNK = 1024 * 1024;
const TUS = { 'tus-resumable': TUS_VERSION };
/** A segment refused this many times although the file still matches: the link corrupts data. */
const MAX_MISMATCHES = 3;

export interface TusSendOptions {
  agent: Dispatcher;
  token: string;
  uploadUrl: string;
  fh: FileHandle;
  /** For messages. */
  path: string;
  key: Uint8Array;
  geometry: FileGeometry;
  /** The journaled segment hashes, to tell a changed file from a corrupting link on a 460. */
  segmentHashes: Uint8Array;
  startOffset: number;
  /** Bytes per PATCH, rounded down to whole segments: bounds what a refused segment wastes. */
  chunkSize: number;
  /** A PATCH that neither takes bytes nor answers for this long is cut and retried. */
  stallTimeoutMs: number;
  retry: RetryPolicy;
  signal?: AbortSignal;
  /** `confirmed` = the helper's verified offset, `inFlight` = bytes of the current PATCH handed to the socket. */
  onProgress?: (confirmed: number, inFlight: number) => void;
  onRetry?: (err: FerryError, failure: number, of: number) => void;
}

export interface TusSendStats {
  /** The helper's offset when the first PATCH went out (after HEAD, on a resume). */
  firstOffset: number;
  sentBytes: number;
  patches: number;
  retries: number;
}

/**
 * Sends the ciphertext from `startOffset` to the end over tus PATCH,
 * encrypting from the file on the fly. The helper's answer is the truth: it
 * counts only whole verified segments, so every PATCH continues from the
 * offset it returned (or from HEAD after an error), never from what we sent.
 */
export async function sendCiphertext(o: TusSendOptions): Promise<TusSendStats> {
  const g = o.geometry;
  const cipher = new SeekableCipher(o.key);
  const perPatch = Math.max(g.segmentSize, Math.floor(o.chunkSize / g.segmentSize) * g.segmentSize);
  const stats: TusSendStats = { firstOffset: o.startOffset, sentBytes: 0, patches: 0, retries: 0 };
  const mismatches = new Map<number, number>();
  let offset = o.startOffset;
  let failures = 0;
  // On a resume the check's offset may predate a PATCH that is still finishing (ours, before a
  // restart): HEAD makes tus release that request's lock and answers the settled offset.
  let needHead = o.startOffset > 0;

  const headers = (extra: Record<string, string> = {}) => ({ authorization: `Bearer ${o.token}`, ...TUS, ...extra });

  const head = async (): Promise<number> => {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(o.uploadUrl, { method: 'HEAD', dispatcher: o.agent, signal: o.signal, headers: headers(), headersTimeout: o.stallTimeoutMs, bodyTimeout: o.stallTimeoutMs });
    } catch (err) {
      throw o.signal?.aborted ? abortedError(o.signal) : networkError(err, 'upload status (HEAD)');
    }
    if (res.statusCode !== 200) throw await errorFromResponse(res, 'upload status (HEAD)');
    await res.body.dump();
    return parseOffset(res.headers['upload-offset'], g.size);
  };

  const patch = async (from: number, to: number): Promise<number> => {
    const ac = new AbortController();
    const onAbort = () => ac.abort(o.signal?.reason);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const stalled = new HelperError('TIMEOUT', `upload stalled: no progress for ${o.stallTimeoutMs} ms`, undefined, true);
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => ac.abort(stalled), o.stallTimeoutMs);
    };
    let inFlight = 0;
    async function* body(): AsyncGenerator<Buffer> {
      for await (const chunk of ciphertextChunks(o.fh, cipher.cursor(from), to, READ_CHUNK, ac.signal)) {
        arm();
        yield chunk;
        // undici asks for the next chunk once this one is written to the socket.
        inFlight += chunk.length;
        stats.sentBytes += chunk.length;
        o.onProgress?.(from, inFlight);
      }
      arm(); // now the helper has to answer
    }
    stats.patches++;
    try {
      arm();
      const res = await request(o.uploadUrl, {
        method: 'PATCH',
        dispatcher: o.agent,
        signal: ac.signal,
        headers: headers({ 'upload-offset': String(from), 'content-type': 'application/offset+octet-stream', 'content-length': String(to - from) }),
        // undici takes async iterables (Dispatcher docs) but request()'s typings omit them; a Readable
        // wrapper would buffer 16 chunks ahead and blind the stall watchdog.
        body: body() as unknown as Readable,
      });
      if (res.statusCode !== 204) throw await errorFromResponse(res, 'upload');
      await res.body.dump();
      return parseOffset(res.headers['upload-offset'], g.size);
    } catch (err) {
      if (o.signal?.aborted) throw abortedError(o.signal);
      if (ac.signal.aborted) throw stalled;
      if (err instanceof FerryError) throw err;
      throw networkError(err, 'upload');
    } finally {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
    }
  };

  /** A 460: resend from the helper's offset, unless the file itself changed (then hashing again is the only way). */
  const refused = async (err: HelperError): Promise<void> => {
    const segment = Number(err.details?.segment);
    const at = Number(err.details?.offset);
    if (!Number.isInteger(segment) || segment < 0 || segment >= g.numSegments || !Number.isInteger(at)) throw err;
    const count = (mismatches.get(segment) ?? 0) + 1;
    mismatches.set(segment, count);
    const { start, end } = segmentRange(g, segment);
    const ours = await hashSegmentAt(o.fh, o.key, start, end);
    if (!ours.equals(o.segmentHashes.subarray(segment * 32, segment * 32 + 32))) {
      throw new FerryError('CONFLICT', `${o.path} changed since it was hashed (segment ${segment} differs); run the upload again to hash the new content`, {
        details: { fileChanged: true },
      });
    }
    if (count >= MAX_MISMATCHES) throw new IntegrityError(`segment ${segment} arrived corrupted at the helper ${count} times although the file is intact; the network path corrupts data`);
    offset = at;
  };

  while (offset < g.size || needHead) {
    throwIfAborted(o.signal);
    try {
      if (needHead) {
        const at = await head();
        // What counts is the helper's verified offset moving, whether or not a PATCH got its answer through.
        if (at > offset) failures = 0;
        offset = at;
        needHead = false;
        o.onProgress?.(offset, 0);
        continue;
      }
      const to = Math.min(g.size, offset + perPatch);
      if (stats.patches === 0) stats.firstOffset = offset;
      const next = await patch(offset, to);
      if (next <= offset) throw new HelperError('UPSTREAM_ERROR', `the helper accepted no bytes at offset ${offset}`, 204, true);
      failures = 0;
      offset = next;
      o.onProgress?.(offset, 0);
    } catch (err) {
      if (o.signal?.aborted) throw abortedError(o.signal);
      if (err instanceof HelperError && err.code === 'SEGMENT_HASH_MISMATCH') {
        await refused(err);
        failures = bump(failures, err, o);
      } else if (err instanceof HelperError && err.retryable) {
        failures = bump(failures, err, o);
        needHead = true;
      } else {
        throw err;
      }
      stats.retries++;
      await sleep(backoffDelay(o.retry, failures, err instanceof HelperError ? err.retryAfterMs : undefined), o.signal);
    }
  }
  if (stats.patches === 0) stats.firstOffset = offset;
  return stats;
}

function bump(failures: number, err: HelperError, o: TusSendOptions): number {
  const n = failures + 1;
  if (n > o.retry.attempts) {
    throw new FerryError(err.code, `${err.message} (gave up after ${o.retry.attempts} retries without progress; run the upload again to resume)`, { cause: err, details: err.details });
  }
  o.onRetry?.(err, n, o.retry.attempts);
  return n;
}

function parseOffset(value: string | string[] | undefined, size: number): number {
  const v = Number(Array.isArray(value) ? value[0] : value);
  if (!Number.isSafeInteger(v) || v < 0 || v > size) throw new HelperError('UPSTREAM_ERROR', `the helper answered a bad Upload-Offset ${String(value)}`, undefined, true);
  return v;
}
