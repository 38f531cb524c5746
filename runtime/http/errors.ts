import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { ZodError } from 'zod';
import { FerryError, type ErrorCode } from '../../core/errors.js';
import { statusFor } from './status.js';

export interface ErrorBody {
  error: string;
  message: string;
  [extra: string]: unknown;
}

/** Seconds a client should wait before trying again after these errors, sent as `Retry-After`. */
export const RETRY_AFTER_SECONDS: Partial<Record<ErrorCode, number>> = { INTAKE_PAUSED: 30 };

function setRetryAfter(res: Response, body: ErrorBody): void {
  const seconds = RETRY_AFTER_SECONDS[body.error as ErrorCode];
  if (seconds !== undefined) res.setHeader('Retry-After', String(seconds));
}

/** Turns anything thrown into `{ error, message }` plus a status; never a stack trace. */
export function toErrorBody(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof FerryError) {
    return { status: statusFor(err.code), body: { error: err.code, message: err.message, ...err.details } };
  }
  if (err instanceof ZodError) {
    const first = err.issues[0];
    const where = first && first.path.length ? `${first.path.join('.')}: ` : '';
    return { status: 400, body: { error: 'BAD_REQUEST', message: `${where}${first?.message ?? 'invalid request'}` } };
  }
  // body-parser and friends mark client errors with a status/type.
  const e = err as { status?: unknown; statusCode?: unknown; type?: unknown; message?: unknown };
  const status = typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status === 413) return { status, body: { error: 'PAYLOAD_TOO_LARGE', message: 'request body too large' } };
  if (status >= 400 && status < 500) {
    return { status, body: { error: 'BAD_REQUEST', message: typeof e.message === 'string' ? e.message : 'bad request' } };
  }
  return { status: 500, body: { error: 'INTERNAL', message: 'internal error' } };
}

/** Express error middleware: logs 5xx with the stack, answers JSON without it. */
export function errorHandler(log?: { error(obj: object, msg?: string): void }): ErrorRequestHandler {
  return (err, _req, res, next) => {
    const { status, body } = toErrorBody(err);
    if (status >= 500) log?.error({ err }, 'request failed');
    if (res.headersSent) {
      // Too late for a clean error: cut the response so no wrong bytes look complete.
      res.destroy();
      return;
    }
    void next;
    setRetryAfter(res, body);
    res.status(status).json(body);
  };
}

export const notFoundHandler: RequestHandler = (req, res) => {
  res.status(404).json({ error: 'NOT_FOUND', message: `no route for ${req.method} ${req.path}` });
};

export function sendError(res: Response, err: unknown): void {
  const { status, body } = toErrorBody(err);
  setRetryAfter(res, body);
  res.status(status).json(body);
}
