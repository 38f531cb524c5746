import type { RequestHandler } from 'express';
import { FerryError } from '../../core/errors.js';
import { sendError } from '../../runtime/http/errors.js';
import { TUS_VERSION } from '../protocol.js';

/** Seconds a PATCH refused for load is told to wait: one is usually done within that. */
export const PATCH_RETRY_AFTER_SECONDS = 5;

/**
 * At most `max` PATCH bodies are received at once over all uploads
 * (limits.maxConcurrentPatches): each holds a socket, a spool file handle and
 * a commit chain. One upload takes one PATCH at a time anyway (tus' lock: a
 * newer PATCH of the same upload ends the older one). One more gets `503
 * UNAVAILABLE` with Retry-After, and its connection is closed, so its body is
 * not read.
 */
export function patchGate(max: number): RequestHandler {
  let inFlight = 0;
  return (req, res, next) => {
    if (req.method !== 'PATCH') {
      next();
      return;
    }
    if (inFlight >= max) {
      res.setHeader('Tus-Resumable', TUS_VERSION);
      res.setHeader('Retry-After', String(PATCH_RETRY_AFTER_SECONDS));
      res.setHeader('Connection', 'close');
      sendError(res, new FerryError('UNAVAILABLE', `this helper is receiving ${inFlight} uploads at once, its limit (limits.maxConcurrentPatches); retry later`, { details: { limit: 'maxConcurrentPatches' } }));
      return;
    }
    inFlight++;
    res.once('close', () => inFlight--);
    next();
  };
}
