import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { ZodError } from 'zod';
import { ERROR_CODES, FerryError, type ErrorCode } from '../../core/errors.js';
import { codeForStatus, statusFor } from './status.js';

export interface ErrorBody {
  error: string;
  message: string;
  [extra: string]: unknown;
}

/** Seconds a client should wait before trying again after these errors, sent as `Retry-After`. */
export const RETRY_AFTER_SECONDS: Partial<Record<ErrorCode, number>> = { INTAKE_PAUSED: 30, TOO_MANY_REQUESTS: 30, QUOTA_EXCEEDED: 60 };

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

const KNOWN_CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/** An error answer read back by a client: the inverse of {@link toErrorBody}. */
export interface DecodedErrorBody {
  /** The code the server sent, when it is one Ferry knows. */
  sentCode: ErrorCode | undefined;
  /** `sentCode`, or the code the status stands for (see codeForStatus). */
  code: ErrorCode;
  /** The server's `message`, when it sent one. */
  message: string | undefined;
  /** The rest of the body (`details` of the FerryError it came from). */
  details: Record<string, unknown>;
  /** The body's first line, for answers that are not Ferry's JSON (a proxy's page). */
  firstLine: string;
}

/** Decodes `{ error, message, ...details }` (or anything a proxy sends) given an error answer's status and body text. */
export function decodeErrorBody(status: number, text: string): DecodedErrorBody {
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    /* not JSON: a proxy's page */
  }
  const { error, message, ...details } = body;
  const sentCode = typeof error === 'string' && KNOWN_CODES.has(error) ? (error as ErrorCode) : undefined;
  return {
    sentCode,
    code: sentCode ?? codeForStatus(status),
    message: typeof message === 'string' ? message : undefined,
    details,
    firstLine: text.trim().split('\n')[0] ?? '',
  };
}
