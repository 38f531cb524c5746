/**
 * One GET of a file from the helper's gateway, from byte `offset` on:
 * `Range: bytes=<offset>-` with `If-Range: <ETag>` (the ETag is derived from
 * the capability, so it is known before the first request), as undici's
 * RetryHandler resumes. The answer is checked before a byte is used: a 206
 * must start exactly at `offset` and end at the capability's size, a 200 must
 * be the whole file, and the ETag, when sent, must be the capability's.
 */
import type { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { FerryError } from '../../core/errors.js';
import { discardBody } from '../../runtime/http/discard.js';
import { parseContentRange } from '../../runtime/http/range.js';
import { errorFromResponse, HelperError, networkError } from '../http.js';
import { abortedError } from '../retry.js';

export interface GatewayRequest {
  url: string;
  agent: Dispatcher;
  /** First byte wanted. */
  offset: number;
  size: number;
  etag: string;
  signal?: AbortSignal;
  /** Time allowed for the headers, and between two body chunks. */
  timeoutMs: number;
  /** Client token, for the configured helper's gateway only. */
  token?: string;
  /** Set for a gateway other than the configured helper (its origin): it never gets the token. */
  foreign?: string;
}

export type GatewayAnswer = { kind: 'bytes'; start: number; body: Readable } | { kind: 'complete' };

function header(res: Dispatcher.ResponseData, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A gateway answer that makes no sense for this capability: retrying will not help. */
function wrongAnswer(message: string): HelperError {
  return new HelperError('UPSTREAM_ERROR', `download: ${message}`, undefined, false);
}

export async function requestFile(r: GatewayRequest): Promise<GatewayAnswer> {
  const headers: Record<string, string> = { accept: '*/*' };
  if (r.offset > 0) {
    headers.range = `bytes=${r.offset}-`;
    headers['if-range'] = r.etag;
  }
  let res = await send(r, headers);
  if (res.statusCode === 401 && r.foreign !== undefined) {
    await res.body.dump();
    throw new HelperError('UNAUTHORIZED', `download: the gateway at ${r.foreign} wants credentials; the client token is sent only to the configured helper's gateway (use a read-cap, or --helper for that gateway)`, 401, false);
  }
  if (res.statusCode === 401 && r.token && r.foreign === undefined) {
    // The capability is the credential; a gateway behind an authenticating proxy may still want the token.
    await res.body.dump();
    res = await send(r, { ...headers, authorization: `Bearer ${r.token}` });
  }
  const etag = header(res, 'etag');
  if ((res.statusCode === 200 || res.statusCode === 206) && etag !== undefined && etag !== r.etag) {
    discardBody(res.body);
    throw wrongAnswer(`the gateway sent a different file (ETag ${etag}, the capability's is ${r.etag})`);
  }
  if (res.statusCode === 200) {
    const length = header(res, 'content-length');
    if (length !== undefined && Number(length) !== r.size) {
      discardBody(res.body);
      throw wrongAnswer(`the gateway sent ${length} bytes, the capability says ${r.size}`);
    }
    return { kind: 'bytes', start: 0, body: res.body };
  }
  if (res.statusCode === 206) {
    let range;
    try {
      range = parseContentRange(header(res, 'content-range') ?? '');
    } catch (err) {
      discardBody(res.body);
      throw wrongAnswer(`unusable Content-Range: ${(err as Error).message}`);
    }
    if (range.start !== r.offset || range.end !== r.size || range.total !== r.size) {
      discardBody(res.body);
      throw wrongAnswer(`asked for bytes ${r.offset}- of ${r.size}, got ${header(res, 'content-range')}`);
    }
    return { kind: 'bytes', start: r.offset, body: res.body };
  }
  if (res.statusCode === 416 && r.offset === r.size && header(res, 'content-range') === `bytes */${r.size}`) {
    await res.body.dump();
    return { kind: 'complete' };
  }
  throw await errorFromResponse(res, 'download');
}

async function send(r: GatewayRequest, headers: Record<string, string>): Promise<Dispatcher.ResponseData> {
  try {
    return await request(r.url, { method: 'GET', dispatcher: r.agent, signal: r.signal, headers, headersTimeout: r.timeoutMs, bodyTimeout: r.timeoutMs });
  } catch (err) {
    if (r.signal?.aborted) throw abortedError(r.signal);
    throw err instanceof FerryError ? err : networkError(err, 'download');
  }
}
