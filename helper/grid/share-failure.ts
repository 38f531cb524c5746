import { IntegrityError, isFerryError } from '../../core/errors.js';

/**
 * What a failed share read says about the copy: the one policy the gateway
 * and the repairer share. `corrupt` and `missing` copies are not read again;
 * a `transient` failure (timeout, refused connection, 5xx) may pass.
 */
export type ShareFailure = 'aborted' | 'corrupt' | 'missing' | 'transient';

export function classifyShareFailure(err: unknown): ShareFailure {
  if (err instanceof IntegrityError) return 'corrupt';
  if (!isFerryError(err)) return 'transient';
  switch (err.code) {
    case 'ABORTED':
      return 'aborted';
    case 'CORRUPT_SHARE': // includes a UEB or header that does not parse
    case 'INTEGRITY_ERROR':
    case 'RANGE_NOT_SATISFIABLE': // the share is shorter than its layout says
      return 'corrupt';
    case 'NOT_FOUND':
      return 'missing';
    default:
      return 'transient';
  }
}
