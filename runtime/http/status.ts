import { ERROR_CODES, type ErrorCode } from '../../core/errors.js';

/** The one place where an error code becomes an HTTP status. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  INVALID_PARAMETERS: 400,
  INVALID_STORAGE_INDEX: 400,
  INVALID_CAPABILITY: 400,
  INVALID_SHARE_NUMBER: 400,
  INVALID_RANGE: 400,
  RANGE_NOT_SATISFIABLE: 416,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  WRITE_CONFLICT: 409,
  OFFSET_MISMATCH: 409,
  UPLOAD_LOCKED: 423,
  PRECONDITION_FAILED: 412,
  // 460 is tus' "Checksum Mismatch" (checksum extension): the chunk was not stored.
  SEGMENT_HASH_MISMATCH: 460,
  INTEGRITY_ERROR: 422,
  CORRUPT_SHARE: 422,
  INSUFFICIENT_STORAGE: 507,
  QUOTA_EXCEEDED: 507,
  TOO_MANY_REQUESTS: 429,
  INTAKE_PAUSED: 503,
  NOT_ENOUGH_SHARES: 503,
  HAPPINESS_NOT_MET: 503,
  UPSTREAM_ERROR: 502,
  TIMEOUT: 504,
  ABORTED: 499,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

export function statusFor(code: ErrorCode): number {
  return HTTP_STATUS[code] ?? 500;
}

/**
 * Codes a status read off another server's answer never stands for: they
 * describe this side (its caller aborted, its own bug).
 */
const LOCAL_ONLY: ReadonlySet<ErrorCode> = new Set(['ABORTED', 'INTERNAL']);
/** Where several codes share a status, the general one wins. */
const GENERAL_FIRST: readonly ErrorCode[] = ['BAD_REQUEST', 'CONFLICT', 'UNAVAILABLE'];
/** Statuses proxies and other servers send that no Ferry code maps to. */
const FOREIGN_STATUS: Readonly<Record<number, ErrorCode>> = { 408: 'TIMEOUT', 429: 'UNAVAILABLE' };

const CODE_FOR_STATUS = new Map<number, ErrorCode>(Object.entries(FOREIGN_STATUS).map(([status, code]) => [Number(status), code]));
for (const code of [...GENERAL_FIRST, ...ERROR_CODES]) {
  if (!LOCAL_ONLY.has(code) && !CODE_FOR_STATUS.has(HTTP_STATUS[code])) CODE_FOR_STATUS.set(HTTP_STATUS[code], code);
}

/**
 * The inverse of {@link HTTP_STATUS}, for an error answer that carries no
 * known code (a proxy's page, an empty HEAD response): UPSTREAM_ERROR for
 * an unknown 5xx, BAD_REQUEST for any other unknown status.
 */
export function codeForStatus(status: number): ErrorCode {
  return CODE_FOR_STATUS.get(status) ?? (status >= 500 ? 'UPSTREAM_ERROR' : 'BAD_REQUEST');
}
