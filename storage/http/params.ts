/**
 * Validation of everything a request names in its path and headers, with
 * the specific error codes of the protocol (INVALID_STORAGE_INDEX, …) rather
 * than a generic BAD_REQUEST.
 */
import { z } from 'zod';
import { FerryError, type ErrorCode } from '../../core/errors.js';
import { MAX_SHARES } from '../../core/params.js';
import { parseStorageIndex } from '../../core/storage-index.js';

const StorageIndexParam = z.string().superRefine((value, ctx) => {
  try {
    parseStorageIndex(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

const ShareNumberParam = z
  .string()
  .regex(/^(0|[1-9]\d{0,2})$/, `share number must be a decimal integer 0..${MAX_SHARES - 1}`)
  .transform(Number)
  .refine((n) => n < MAX_SHARES, `share number must be at most ${MAX_SHARES - 1}`);

/** Parses with `schema`, throwing FerryError(`code`) with the first issue's message. */
export function parseAs<T>(schema: z.ZodType<T>, value: unknown, code: ErrorCode): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length ? `${issue.path.join('.')}: ` : '';
  throw new FerryError(code, `${where}${issue?.message ?? 'invalid value'}`);
}

export function storageIndexParam(value: unknown): string {
  return parseAs(StorageIndexParam, value, 'INVALID_STORAGE_INDEX');
}

export function shareNumberParam(value: unknown): number {
  return parseAs(ShareNumberParam, value, 'INVALID_SHARE_NUMBER');
}

/** Parses a JSON body with `schema`; share-number issues get INVALID_SHARE_NUMBER, the rest BAD_REQUEST. */
export function bodyAs<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const code: ErrorCode = issue?.path[0] === 'shareNumbers' && issue.path.length > 1 ? 'INVALID_SHARE_NUMBER' : 'BAD_REQUEST';
  const where = issue && issue.path.length ? `${issue.path.join('.')}: ` : '';
  throw new FerryError(code, `${where}${issue?.message ?? 'invalid request body'}`);
}
