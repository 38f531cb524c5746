import { Agent, request, type Dispatcher } from 'undici';
import { FerryError, type ErrorCode } from '../core/errors.js';
import { decodeErrorBody } from '../runtime/http/errors.js';
import { parseServerAddress } from '../runtime/tls/address.js';
import { connectOptions } from '../runtime/tls/dispatcher.js';
import { abortedError, backoffDelay, parseRetryAfter, retryableStatus, sleep, type RetryPolicy } from './retry.js';

/** An error answer from the helper (or no answer at all), with what the retry loop needs to know. */
export class HelperError extends FerryError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly status: number | undefined,
    readonly retryable: boolean,
    o: { cause?: unknown; details?: Record<string, unknown>; retryAfterMs?: number } = {},
  ) {
    super(code, message, { cause: o.cause, details: o.details });
    this.name = 'HelperError';
    this.retryAfterMs = o.retryAfterMs;
  }
  readonly retryAfterMs: number | undefined;
}

/**
 * One connection pool per transfer, so that closing it (on success, error or
 * abort) provably leaves no socket behind. undici's own header/body timeouts
 * are off: a long PATCH is fine, a stalled one is cut by our watchdog.
 * A pinned helper address (`https://host:port/#spki=<pin>`) gets a pool that
 * accepts that key and nothing else; any other https address is verified the
 * normal way (CA + host name).
 */
export function createAgent(helperUrl?: string): Agent {
  const address = helperUrl === undefined ? { pins: undefined } : parseServerAddress(helperUrl, 'helper address');
  return new Agent({ connections: 4, keepAliveTimeout: 4_000, headersTimeout: 0, bodyTimeout: 0, connect: connectOptions(address, { timeoutMs: 15_000 }) });
}

/**
 * The helper address requests are built on (`${base}/helper/v1/…`): without
 * its pin fragment and trailing slashes, and without a trailing `/helper/v1`
 * (the API URL `ferry helper` prints is accepted as the helper's address).
 */
export function helperBase(helperUrl: string): string {
  return parseServerAddress(helperUrl, 'helper address')
    .base.replace(/\/helper\/v1$/, '')
    .replace(/\/+$/, '');
}

/** Reads an error body (`{ error, message, ...details }` from Ferry, anything from a proxy) into a HelperError. */
export async function errorFromResponse(res: Dispatcher.ResponseData, what: string, retryable = retryableStatus): Promise<HelperError> {
  let text = '';
  try {
    text = (await res.body.text()).slice(0, 4096);
  } catch {
    /* the body is informative only */
  }
  const decoded = decodeErrorBody(res.statusCode, text);
  let msg = decoded.message ?? (decoded.firstLine || `HTTP ${res.statusCode}`);
  if (res.statusCode === 401) msg = `the helper refused the client token (${msg}); check the token in client.json or --token`;
  return new HelperError(decoded.code, `${what}: ${msg}`, res.statusCode, retryable(res.statusCode), {
    details: { status: res.statusCode, ...decoded.details },
    retryAfterMs: parseRetryAfter(res.headers['retry-after']),
  });
}

/** No HTTP answer: connection refused, reset, DNS. Always worth a retry. */
export function networkError(err: unknown, what: string): HelperError {
  const e = err as { code?: string; message?: string };
  const why = e?.code && e.message && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : (e?.message ?? String(err));
  return new HelperError('UNAVAILABLE', `${what}: connection failed (${why})`, undefined, true, { cause: err });
}

export interface CallContext {
  agent: Dispatcher;
  token: string;
  signal?: AbortSignal;
  retry: RetryPolicy;
  /** Per-request header and body timeout (default 120 s). */
  timeoutMs?: number;
  /** Each retry, before its backoff: how a user learns that the helper went away instead of watching a frozen bar. */
  onRetry?: (err: HelperError, failure: number, of: number) => void;
}

/**
 * Runs `fn` until it succeeds, fails for good, or fails retryably more than
 * `retry.attempts` times in a row. `fn` returning normally is progress.
 */
export async function withRetries<T>(ctx: Pick<CallContext, 'signal' | 'retry' | 'onRetry'>, fn: () => Promise<T>): Promise<T> {
  for (let failure = 0; ; ) {
    try {
      return await fn();
    } catch (err) {
      if (ctx.signal?.aborted) throw abortedError(ctx.signal);
      if (!(err instanceof HelperError) || !err.retryable) throw err;
      failure++;
      if (failure > ctx.retry.attempts) throw err;
      ctx.onRetry?.(err, failure, ctx.retry.attempts);
      await sleep(backoffDelay(ctx.retry, failure, err.retryAfterMs), ctx.signal);
    }
  }
}

/** A JSON request to the helper, retried on network errors, 408, 423, 429 and 5xx (a 409 here is a real conflict). */
export async function callJson(ctx: CallContext, method: 'GET' | 'POST', url: string, what: string, body?: unknown): Promise<unknown> {
  const timeoutMs = ctx.timeoutMs ?? 120_000;
  return withRetries(ctx, async () => {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method,
        dispatcher: ctx.agent,
        signal: ctx.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        headers: { authorization: `Bearer ${ctx.token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      if (ctx.signal?.aborted) throw abortedError(ctx.signal);
      throw networkError(err, what);
    }
    if (res.statusCode >= 300) throw await errorFromResponse(res, what, (s) => s !== 409 && retryableStatus(s));
    try {
      return await res.body.json();
    } catch (err) {
      if (ctx.signal?.aborted) throw abortedError(ctx.signal);
      throw new HelperError('UPSTREAM_ERROR', `${what}: the helper's answer is not JSON`, res.statusCode, true, { cause: err });
    }
  });
}
