/**
 * Bearer-token authentication for express. The presented token is compared
 * with the expected one in constant time: both are hashed to 32 bytes first,
 * so neither the content nor the length of the secret leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { sendError } from './errors.js';
import { FerryError } from '../../core/errors.js';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Constant-time string equality (via SHA-256 of both sides). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** Extracts the credentials of `Authorization: Bearer <token>`; undefined for anything else. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^bearer[ ]+([\x21-\x7e]+)[ ]*$/i.exec(header);
  return m?.[1];
}

export interface BearerAuthOptions {
  /** The expected token, or a function returning it (e.g. to support rotation). */
  token: string | (() => string);
  /** Realm for the `WWW-Authenticate` challenge. */
  realm?: string;
}

/** Answers 401 UNAUTHORIZED unless the request carries the right bearer token. */
export function bearerAuth(options: BearerAuthOptions): RequestHandler {
  const realm = options.realm ?? 'ferry';
  const expected = typeof options.token === 'function' ? options.token : () => options.token as string;
  if (!expected()) throw new Error('bearerAuth needs a non-empty token');
  return (req, res, next) => {
    const presented = bearerToken(req.get('authorization'));
    // Always run the comparison, so a missing header costs the same as a wrong one.
    const ok = safeEqual(presented ?? '', expected()) && presented !== undefined;
    if (ok) {
      next();
      return;
    }
    res.setHeader('WWW-Authenticate', `Bearer realm="${realm}"`);
    sendError(
      res,
      new FerryError('UNAUTHORIZED', presented === undefined ? 'missing "Authorization: Bearer <token>" header' : 'invalid bearer token'),
    );
  };
}
