import type { RequestHandler } from 'express';
import { FerryError } from '../../core/errors.js';
import { bearerToken, safeEqual } from '../../runtime/http/auth.js';
import { sendError } from '../../runtime/http/errors.js';

/** Accepts any of several bearer tokens (one per client or team), each compared in constant time. */
export function anyBearer(tokens: readonly string[], realm = 'ferry-helper'): RequestHandler {
  if (!tokens.length) throw new Error('anyBearer needs at least one token');
  return (req, res, next) => {
    const presented = bearerToken(req.get('authorization'));
    // Compare against every token so timing does not tell which one matched.
    let ok = false;
    for (const t of tokens) ok = safeEqual(presented ?? '', t) || ok;
    if (ok && presented !== undefined) {
      next();
      return;
    }
    res.setHeader('WWW-Authenticate', `Bearer realm="${realm}"`);
    sendError(res, new FerryError('UNAUTHORIZED', presented === undefined ? 'missing "Authorization: Bearer <token>" header' : 'invalid bearer token'));
  };
}
