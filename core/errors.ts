/**
 * Typed errors with a stable `code`, in the manner of undici's UND_ERR_*.
 * The code is what programs match on and what HTTP error bodies carry;
 * the HTTP status for each code is decided in one place
 * (runtime/http/status.ts), never at the throw site.
 */
export const ERROR_CODES = [
  'BAD_REQUEST',
  'INVALID_PARAMETERS',
  'INVALID_STORAGE_INDEX',
  'INVALID_CAPABILITY',
  'INVALID_SHARE_NUMBER',
  'INVALID_RANGE',
  'RANGE_NOT_SATISFIABLE',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'CONFLICT',
  'WRITE_CONFLICT',
  'OFFSET_MISMATCH',
  'UPLOAD_LOCKED',
  'PRECONDITION_FAILED',
  'SEGMENT_HASH_MISMATCH',
  'INTEGRITY_ERROR',
  'CORRUPT_SHARE',
  'INSUFFICIENT_STORAGE',
  'QUOTA_EXCEEDED',
  'TOO_MANY_REQUESTS',
  'INTAKE_PAUSED',
  'NOT_ENOUGH_SHARES',
  'HAPPINESS_NOT_MET',
  'UPSTREAM_ERROR',
  'TIMEOUT',
  'ABORTED',
  'UNAVAILABLE',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class FerryError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable facts (e.g. missing ranges), safe to show to a client. */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FerryError';
    this.code = code;
    this.details = options?.details;
  }
}

/** A value that fails a format rule (capability, storage index, share layout, parameters). */
export class FormatError extends FerryError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
    this.name = 'FormatError';
  }
}

/** Bytes that do not match the hashes that commit to them. */
export class IntegrityError extends FerryError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('INTEGRITY_ERROR', message, { details });
    this.name = 'IntegrityError';
  }
}

export function isFerryError(err: unknown): err is FerryError {
  return err instanceof FerryError;
}
