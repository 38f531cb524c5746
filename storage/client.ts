/**
 * Typed HTTP client for the storage server API (/storage/v1), on an undici
 * Pool per server (keep-alive, capped connections). Used by the helper to
 * push shares and by the download gateway for range reads.
 *
 * Every failure is a FerryError: the server's own code when it sent one
 * (WRITE_CONFLICT, INSUFFICIENT_STORAGE, RANGE_NOT_SATISFIABLE, …);
 * UPSTREAM_ERROR for network failures, 5xx without a code and unexpected
 * responses (the original error as `cause`); ABORTED when the caller's
 * signal fired; TIMEOUT when undici's headers/body timeout did.
 */
import { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import type { z } from 'zod';
import { FerryError, isFerryError } from '../core/errors.js';
import { formatStorageIndex, parseStorageIndex } from '../core/storage-index.js';
import { decodeErrorBody } from '../runtime/http/errors.js';
import { formatRangeHeader, parseContentRange } from '../runtime/http/range.js';
import { discardBody } from '../runtime/http/discard.js';
import { assertSecureTransport, parseServerAddress } from '../runtime/tls/address.js';
import { connectOptions } from '../runtime/tls/dispatcher.js';
import {
  AllocateResponse,
  CorruptionResponse,
  InfoResponse,
  LeaseResponse,
  ListResponse,
  ProgressResponse,
  STORAGE_API_PREFIX,
  StatusResponse,
} from './protocol.js';

export type StorageIndexLike = string | Uint8Array;

export interface CallOptions {
  signal?: AbortSignal;
}

export interface StorageClientOptions {
  /**
   * The server's address, optionally with a path prefix: `https://host:port/#spki=<pin>`
   * (the pin is checked on every connection, and nothing else), `https://host:port`
   * (normal certificate verification) or `http://host:port` (loopback only, unless
   * allowInsecureHttp). The API is under /storage/v1.
   */
  url: string;
  /** Allow plain http to a non-loopback server (the grid token crosses the network in clear). */
  allowInsecureHttp?: boolean;
  /** The grid token. */
  token: string;
  /** Connections to this server at most (default 8). */
  connections?: number;
  /** Time to wait for response headers (default 60 s). */
  headersTimeoutMs?: number;
  /** Time allowed between two body chunks (default 60 s). */
  bodyTimeoutMs?: number;
  /** Use this dispatcher instead of an own Pool (it is then not closed by close()). */
  dispatcher?: Dispatcher;
}

/** Share data to send from a stream: exactly `length` bytes. */
export interface StreamBody {
  stream: Readable | AsyncIterable<Uint8Array>;
  length: number;
}

export interface ShareReadStream {
  /** The range actually served, `[start, end)` (end may be clamped to the share size). */
  start: number;
  end: number;
  /** Size of the whole share. */
  size: number;
  /** The bytes; consume or destroy it. */
  body: Readable;
}

function siText(si: StorageIndexLike): string {
  if (typeof si === 'string') {
    parseStorageIndex(si);
    return si;
  }
  return formatStorageIndex(si);
}

function shareNumber(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 255) throw new FerryError('INVALID_SHARE_NUMBER', `share number must be an integer 0..255, got ${n}`);
  return n;
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export class StorageClient {
  readonly url: string;
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #prefix: string;
  readonly #auth: string;

  constructor(options: StorageClientOptions) {
    const address = parseServerAddress(options.url, 'storage server address');
    assertSecureTransport(address, { what: 'storage server', allowInsecureHttp: options.allowInsecureHttp });
    const url = address.url;
    this.url = options.url;
    this.#prefix = `${url.pathname.replace(/\/+$/, '')}${STORAGE_API_PREFIX}`;
    this.#auth = `Bearer ${options.token}`;
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.#dispatcher =
      options.dispatcher ??
      new Pool(url.origin, {
        connections: options.connections ?? 8,
        headersTimeout: options.headersTimeoutMs ?? 60_000,
        bodyTimeout: options.bodyTimeoutMs ?? 60_000,
        connect: connectOptions(address),
      });
  }

  // ---- API ----

  async info(opts: CallOptions = {}): Promise<InfoResponse> {
    return this.#json('GET', '/info', InfoResponse, opts);
  }

  async status(opts: CallOptions = {}): Promise<StatusResponse> {
    return this.#json('GET', '/status', StatusResponse, opts);
  }

  /** Allocates `shareNumbers` of `shareSize` bytes; keeps (and reports) partial uploads of the same size. */
  async allocate(
    si: StorageIndexLike,
    shareSize: number,
    shareNumbers: readonly number[],
    opts: CallOptions & { leaseSeconds?: number } = {},
  ): Promise<AllocateResponse> {
    const body = { shareSize, shareNumbers: shareNumbers.map(shareNumber), ...(opts.leaseSeconds === undefined ? {} : { leaseSeconds: opts.leaseSeconds }) };
    return this.#json('POST', `/immutable/${siText(si)}`, AllocateResponse, opts, body);
  }

  /** Writes bytes at `offset`. Resolves with the share's progress (`complete: true` once the last byte arrived). */
  async write(si: StorageIndexLike, shnum: number, offset: number, data: Uint8Array | StreamBody, opts: CallOptions = {}): Promise<ProgressResponse> {
    const length = data instanceof Uint8Array ? data.length : data.length;
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 1) {
      throw new FerryError('INVALID_RANGE', `cannot write ${length} bytes at offset ${offset}`);
    }
    const body = data instanceof Uint8Array ? data : data.stream instanceof Readable ? data.stream : Readable.from(data.stream);
    const res = await this.#request(
      {
        method: 'PATCH',
        path: this.#path(`/immutable/${siText(si)}/${shareNumber(shnum)}`),
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': `bytes ${offset}-${offset + length - 1}/*`,
          'content-length': String(length),
        },
        body,
      },
      opts,
    );
    return this.#parse(res, ProgressResponse, opts);
  }

  /** Progress of a share: its size, whether it is complete, and the intervals still missing. */
  async missing(si: StorageIndexLike, shnum: number, opts: CallOptions = {}): Promise<ProgressResponse> {
    return this.#json('GET', `/immutable/${siText(si)}/${shareNumber(shnum)}/missing`, ProgressResponse, opts);
  }

  /** Complete share numbers held for `si`. */
  async list(si: StorageIndexLike, opts: CallOptions = {}): Promise<number[]> {
    return (await this.#json('GET', `/immutable/${siText(si)}/shares`, ListResponse, opts)).shareNumbers;
  }

  /** Size of a complete share (HEAD). */
  async size(si: StorageIndexLike, shnum: number, opts: CallOptions = {}): Promise<number> {
    const res = await this.#request({ method: 'HEAD', path: this.#path(`/immutable/${siText(si)}/${shareNumber(shnum)}`) }, opts);
    await res.body.dump();
    const size = Number(header(res.headers, 'content-length'));
    if (!Number.isSafeInteger(size)) throw new FerryError('UPSTREAM_ERROR', 'storage server sent no usable Content-Length');
    return size;
  }

  /** Streams bytes `[start, end)` of a share (end is clamped to the share's size by the server). */
  async readStream(si: StorageIndexLike, shnum: number, start: number, end: number, opts: CallOptions = {}): Promise<ShareReadStream> {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end <= start) {
      throw new FerryError('INVALID_RANGE', `invalid read range [${start}, ${end})`);
    }
    const res = await this.#request(
      {
        method: 'GET',
        path: this.#path(`/immutable/${siText(si)}/${shareNumber(shnum)}`),
        headers: { range: formatRangeHeader([{ start, end }]) },
      },
      opts,
    );
    const contentRange = header(res.headers, 'content-range');
    let served: ReturnType<typeof parseContentRange> | undefined;
    try {
      served = res.statusCode === 206 && contentRange ? parseContentRange(contentRange) : undefined;
    } catch {
      served = undefined;
    }
    if (!served || served.start !== start || served.end > end || served.total === undefined) {
      discardBody(res.body);
      throw new FerryError('UPSTREAM_ERROR', `storage server answered a range read with ${res.statusCode} ${contentRange ?? ''}`.trim());
    }
    return { start: served.start, end: served.end, size: served.total, body: res.body };
  }

  /** Reads bytes `[start, end)` of a share into memory (shorter if the share ends first). */
  async read(si: StorageIndexLike, shnum: number, start: number, end: number, opts: CallOptions = {}): Promise<Uint8Array> {
    if (end === start && Number.isSafeInteger(start) && start >= 0) return new Uint8Array(0);
    const r = await this.readStream(si, shnum, start, end, opts);
    const expected = r.end - r.start;
    const out = new Uint8Array(expected);
    let got = 0;
    try {
      for await (const chunk of r.body as AsyncIterable<Buffer>) {
        if (got + chunk.length > expected) throw new FerryError('UPSTREAM_ERROR', 'storage server sent more bytes than its Content-Range');
        out.set(chunk, got);
        got += chunk.length;
      }
    } catch (err) {
      r.body.destroy();
      throw this.#networkError(err, opts);
    }
    if (got !== expected) throw new FerryError('UPSTREAM_ERROR', `storage server sent ${got} of ${expected} bytes`);
    return out;
  }

  async reportCorruption(si: StorageIndexLike, shnum: number, reason: string, opts: CallOptions = {}): Promise<{ recorded: true; id: string }> {
    return this.#json('POST', `/immutable/${siText(si)}/${shareNumber(shnum)}/corrupt`, CorruptionResponse, opts, { reason });
  }

  /** Adds or extends the lease on `si`; resolves with its expiry (ms since the epoch). */
  async renewLease(si: StorageIndexLike, opts: CallOptions & { leaseSeconds?: number } = {}): Promise<{ expiresAt: number }> {
    const body = opts.leaseSeconds === undefined ? {} : { leaseSeconds: opts.leaseSeconds };
    return this.#json('PUT', `/lease/${siText(si)}`, LeaseResponse, opts, body);
  }

  /** Abandons an upload in progress. */
  async abort(si: StorageIndexLike, shnum: number, opts: CallOptions = {}): Promise<void> {
    const res = await this.#request({ method: 'DELETE', path: this.#path(`/immutable/${siText(si)}/${shareNumber(shnum)}`) }, opts);
    await res.body.dump();
  }

  async close(): Promise<void> {
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }

  // ---- plumbing ----

  #path(suffix: string): string {
    return `${this.#prefix}${suffix}`;
  }

  async #json<T>(method: Dispatcher.HttpMethod, suffix: string, schema: z.ZodType<T>, opts: CallOptions, body?: unknown): Promise<T> {
    const res = await this.#request(
      {
        method,
        path: this.#path(suffix),
        ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      },
      opts,
    );
    return this.#parse(res, schema, opts);
  }

  async #parse<T>(res: Dispatcher.ResponseData, schema: z.ZodType<T>, opts: CallOptions): Promise<T> {
    let json: unknown;
    try {
      json = await res.body.json();
    } catch (err) {
      throw isFerryError(err) ? err : new FerryError('UPSTREAM_ERROR', 'storage server sent a response that is not JSON', { cause: this.#networkError(err, opts) });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new FerryError('UPSTREAM_ERROR', 'storage server sent an unexpected response', { cause: parsed.error });
    return parsed.data;
  }

  /** Sends a request; resolves only for 2xx, turning everything else into FerryError. */
  async #request(
    req: { method: Dispatcher.HttpMethod; path: string; headers?: Record<string, string>; body?: Dispatcher.DispatchOptions['body'] },
    opts: CallOptions,
  ): Promise<Dispatcher.ResponseData> {
    let res: Dispatcher.ResponseData;
    try {
      res = await this.#dispatcher.request({
        method: req.method,
        path: req.path,
        headers: { authorization: this.#auth, ...req.headers },
        body: req.body,
        signal: opts.signal,
      });
    } catch (err) {
      throw this.#networkError(err, opts);
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return res;
    throw await this.#httpError(res);
  }

  async #httpError(res: Dispatcher.ResponseData): Promise<FerryError> {
    let text = '';
    try {
      text = await res.body.text();
    } catch {
      // The status alone will have to do.
    }
    const status = res.statusCode;
    const decoded = decodeErrorBody(status, text);
    // A server's INTERNAL is, from here, an upstream failure.
    if (decoded.sentCode && decoded.sentCode !== 'INTERNAL' && decoded.message !== undefined) {
      return new FerryError(decoded.sentCode, decoded.message, { details: { ...decoded.details, status } });
    }
    const message = decoded.message ?? (text.slice(0, 200) || 'no details');
    return new FerryError('UPSTREAM_ERROR', `storage server ${this.url} answered ${status}: ${message}`, { details: { status } });
  }

  #networkError(err: unknown, opts: CallOptions): FerryError {
    if (isFerryError(err)) return err;
    if (opts.signal?.aborted) return new FerryError('ABORTED', 'storage request aborted', { cause: opts.signal.reason ?? err });
    const code = (err as { code?: unknown })?.code;
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
      return new FerryError('TIMEOUT', `storage server ${this.url} timed out`, { cause: err });
    }
    const message = err instanceof Error ? err.message : String(err);
    return new FerryError('UPSTREAM_ERROR', `storage server ${this.url} failed: ${message}`, { cause: err });
  }
}
