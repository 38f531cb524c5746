/** Request-body helpers for express: JSON with a size cap and a type check, and releasing an unread body. */
import express, { type Request, type RequestHandler, type Response } from 'express';
import { FerryError } from '../../core/errors.js';
import { sendError } from './errors.js';

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
}

/**
 * Parses an `application/json` body of at most `limit` bytes into `req.body`
 * (413 PAYLOAD_TOO_LARGE beyond it). A body of another type is refused with
 * 415 UNSUPPORTED_MEDIA_TYPE; a request without a body leaves `req.body` undefined.
 */
export function jsonBody(limit: number): RequestHandler[] {
  return [requireJson(limit), express.json({ limit, strict: true, type: 'application/json' })];
}

/**
 * Like jsonBody, but leaves the body unparsed: `req.body` is a Buffer of the
 * raw bytes (undefined without a body), for bodies too large to parse on the
 * event loop.
 */
export function rawJsonBody(limit: number): RequestHandler[] {
  return [requireJson(limit), express.raw({ limit, type: 'application/json' })];
}

/** 415 UNSUPPORTED_MEDIA_TYPE for a body that is not `application/json`. */
function requireJson(limit: number): RequestHandler {
  return (req, res, next) => {
    if (hasBody(req) && !req.is('application/json')) {
      releaseRequestBody(req, res, limit);
      sendError(res, new FerryError('UNSUPPORTED_MEDIA_TYPE', 'request body must be application/json'));
      return;
    }
    next();
  };
}

/**
 * Call when answering before the request body was fully read. A body of at
 * most `maxDrainBytes` (by Content-Length) is read and discarded so the
 * connection can be reused; anything larger or of unknown length gets
 * `Connection: close` so the client stops sending.
 */
export function releaseRequestBody(req: Request, res: Response, maxDrainBytes: number): void {
  if (!hasBody(req) || req.readableEnded || req.destroyed) return;
  const length = Number(req.headers['content-length']);
  const drainable = req.complete || (Number.isFinite(length) && length <= maxDrainBytes);
  if (!drainable && !res.headersSent) res.setHeader('Connection', 'close');
  req.on('data', () => {});
  // After an async iterator let go of the stream, flowing must be restored on the next tick.
  setImmediate(() => req.resume());
}
