import { createHash } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { FerryError } from '../../core/errors.js';
import { bearerToken, safeEqual } from '../../runtime/http/auth.js';
import { sendError } from '../../runtime/http/errors.js';

/**
 * What a job records about the client token that made it: a SHA-256 prefix,
 * enough to tell tokens apart, useless to present as a token.
 */
export function clientIdOf(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

/** The id of the token an authenticated request presented (set by anyBearer). */
export function clientOf(res: Response): string {
  const id = (res.locals as { clientId?: unknown }).clientId;
  if (typeof id !== 'string') throw new Error('clientOf: the route is not behind anyBearer');
  return id;
}

/**
 * Accepts any of several bearer tokens (one per client or team), each
 * compared in constant time. A function is asked on every request, so a
 * config reload (rotation) takes effect at once.
 */
export function anyBearer(tokens: readonly string[] | (() => readonly string[]), realm = 'ferry-helper'): RequestHandler {
  const current = typeof tokens === 'function' ? tokens : () => tokens;
  if (!current().length) throw new Error('anyBearer needs at least one token');
  return (req, res, next) => {
    const presented = bearerToken(req.get('authorization'));
    // Compare against every token so timing does not tell which one matched.
    let ok = false;
    for (const t of current()) ok = safeEqual(presented ?? '', t) || ok;
    if (ok && presented !== undefined) {
      res.locals.clientId = clientIdOf(presented);
      next();
      return;
    }
    res.setHeader('WWW-Authenticate', `Bearer realm="${realm}"`);
    sendError(res, new FerryError('UNAUTHORIZED', presented === undefined ? 'missing "Authorization: Bearer <token>" header' : 'invalid bearer token'));
  };
}
