/**
 * GET and HEAD /uri/<read-cap> (and /uri/<read-cap>/<filename>): the file's
 * plaintext, verified against the capability before any byte is sent, with
 * byte ranges (RFC 9110). The capability is the credential: no token, so any
 * HTTP client (curl, wget, aria2c, a browser) can fetch with just the URL.
 * Documented in docs/protocol.md, "Gateway".
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { etagOf, parseReadCap, verifyCapOf, type ReadCap } from '../../core/capability.js';
import { cipherReady, SeekableCipher } from '../../core/crypto/cipher.js';
import { FerryError } from '../../core/errors.js';
import { formatContentRange, formatUnsatisfiedContentRange, type ByteRange } from '../../runtime/http/range.js';
import { publish } from '../diagnostics.js';
import type { FileContext } from './file-context.js';
import { PlaintextReader, type SegmentSource } from './file-reader.js';
import type { Gateway } from './gateway.js';
import { contentDisposition, Multipart, notModified, planResponse } from './http-semantics.js';
import { fetchSegment, type VerifiedSegment } from './segment-fetcher.js';

export const GATEWAY_PATH = '/uri';

/** What the gateway routes need (the Helper has it). */
export interface GatewayDeps {
  gateway: Gateway;
}

/** The helper's gateway routes (mounted by helper/http/app.ts). */
export function gatewayRoutes(deps: GatewayDeps): Router {
  return gatewayRouter(deps.gateway);
}

export function gatewayRouter(gateway: Gateway): Router {
  const router = express.Router({ caseSensitive: true, strict: true });
  const handler = fileHandler(gateway);
  router.get(`${GATEWAY_PATH}/:cap`, handler); // GET routes also answer HEAD
  router.get(`${GATEWAY_PATH}/:cap/:filename`, handler);
  const notAllowed: RequestHandler = (_req, res) => {
    res.setHeader('Allow', 'GET, HEAD');
    throw new FerryError('METHOD_NOT_ALLOWED', 'the gateway only answers GET and HEAD');
  };
  router.all(`${GATEWAY_PATH}/:cap`, notAllowed);
  router.all(`${GATEWAY_PATH}/:cap/:filename`, notAllowed);
  return router;
}

let sodium: Promise<void> | undefined;

function fileHandler(gateway: Gateway): RequestHandler {
  return async (req, res) => {
    publish('ferry:gateway:request', gateway, () => ({ method: req.method }));
    const cap = parseReadCap(String(req.params.cap));
    const etag = etagOf(verifyCapOf(cap));
    const size = cap.size;
    const filename = typeof req.params.filename === 'string' ? req.params.filename : req.query.filename;
    const disposition = contentDisposition(filename);
    const setCommon = () => {
      res.setHeader('Accept-Ranges', 'bytes');
      res.setHeader('ETag', etag);
      // Immutable: the capability names these exact bytes. Private: the URL is a secret.
      res.setHeader('Cache-Control', 'private, max-age=31536000, immutable');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Referrer-Policy', 'no-referrer');
      if (disposition) res.setHeader('Content-Disposition', disposition);
    };

    if (notModified(req.get('if-none-match'), etag)) {
      setCommon();
      res.status(304).end();
      return;
    }
    const plan = planResponse({ range: req.get('range'), ifRange: req.get('if-range') }, size, etag);
    const ctx = await gateway.open(verifyCapOf(cap));
    if (plan.kind === 'unsatisfiable') {
      res.setHeader('Content-Range', formatUnsatisfiedContentRange(size));
      throw new FerryError('RANGE_NOT_SATISFIABLE', `no satisfiable range in ${JSON.stringify(req.get('range'))} for the ${size}-byte file`, { details: { size } });
    }
    const head = req.method === 'HEAD';
    if (plan.kind === 'multipart') {
      const mp = new Multipart(plan.ranges, size);
      const send = () => {
        setCommon();
        res.status(206).setHeader('Content-Type', mp.contentType);
        res.setHeader('Content-Length', String(mp.contentLength));
      };
      if (head) {
        send();
        res.end();
        return;
      }
      await serveMultipart(gateway, ctx, cap, mp, req, res, send);
      return;
    }
    const range: ByteRange = plan.kind === 'single' ? plan.range : { start: 0, end: size };
    const send = () => {
      setCommon();
      res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Content-Length', String(range.end - range.start));
      if (plan.kind === 'single') res.status(206).setHeader('Content-Range', formatContentRange(range, size));
      else res.status(200);
    };
    if (head || range.end === range.start) {
      send();
      res.end();
      return;
    }
    const reader = await openReader(gateway, ctx, cap, range);
    try {
      await serve(gateway, reader, () => reader.firstSegment(), req, res, send);
    } catch (err) {
      // A cached context may remember shares as bad that have since been repaired or come
      // back; before answering 503, try once more with a fresh one (the failure marked it exhausted).
      if (res.headersSent || !(err instanceof FerryError) || err.code !== 'NOT_ENOUGH_SHARES') throw err;
      const fresh = await openReader(gateway, await gateway.open(verifyCapOf(cap)), cap, range);
      await serve(gateway, fresh, () => fresh.firstSegment(), req, res, send);
    }
  };
}

async function openReader(gateway: Gateway, ctx: FileContext, cap: ReadCap, range: ByteRange, source?: SegmentSource): Promise<PlaintextReader> {
  sodium ??= cipherReady();
  await sodium;
  return new PlaintextReader({
    ctx,
    cipher: new SeekableCipher(cap.key),
    start: range.start,
    end: range.end,
    readAhead: gateway.settings.readAhead,
    readAheadBytes: gateway.settings.readAheadBytes,
    stats: gateway.stats,
    events: gateway,
    source,
  });
}

/**
 * Waits for the first verified segment before sending headers, so that most
 * failures still get a clean JSON error; after that, a failure cuts the
 * connection (the client sees a short body, never wrong bytes).
 */
async function serve(gateway: Gateway, body: Readable, ready: () => Promise<void>, req: Request, res: Response, send: () => void): Promise<void> {
  const gone = () => body.destroy();
  res.once('close', gone);
  try {
    await ready();
  } catch (err) {
    body.destroy();
    if (res.destroyed || req.destroyed) return; // the client left first: nobody to answer
    throw err;
  } finally {
    res.off('close', gone);
  }
  if (res.destroyed) {
    body.destroy();
    return;
  }
  send();
  try {
    // pipeline destroys the body (aborting its share reads) if the client goes away.
    await pipeline(body, res);
  } catch (err) {
    if (!res.destroyed) res.destroy();
    if (err instanceof FerryError && err.code !== 'ABORTED') {
      publish('ferry:gateway:cut', gateway, () => ({ reason: err.message }));
      gateway.log?.(`download cut after headers: ${err.message}`);
    }
  }
}

/** Several ranges in one multipart/byteranges body; parts share fetched segments. */
async function serveMultipart(gateway: Gateway, ctx: FileContext, cap: ReadCap, mp: Multipart, req: Request, res: Response, send: () => void): Promise<void> {
  const recent = new Map<number, Promise<VerifiedSegment>>();
  const source: SegmentSource = (i, last, signal) => {
    let p = recent.get(i);
    if (!p) {
      p = fetchSegment(ctx, i, last, signal);
      recent.set(i, p);
      p.catch(() => recent.delete(i));
      while (recent.size > gateway.settings.readAhead + 2) recent.delete(recent.keys().next().value as number);
    }
    return p;
  };
  const first = await openReader(gateway, ctx, cap, mp.ranges[0], source);
  async function* parts(): AsyncGenerator<Buffer> {
    for (let i = 0; i < mp.ranges.length; i++) {
      const reader = i === 0 ? first : await openReader(gateway, ctx, cap, mp.ranges[i], source);
      try {
        yield mp.head(i);
        for await (const chunk of reader) yield chunk as Buffer;
      } finally {
        reader.destroy();
      }
    }
    yield mp.tail();
  }
  const body = Readable.from(parts(), { objectMode: false });
  body.once('close', () => first.destroy());
  await serve(gateway, body, () => first.firstSegment(), req, res, send);
}
