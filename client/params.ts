import { FerryError } from '../core/errors.js';
import { validateParams, type EncodingParams } from '../core/params.js';
import type { HelperInfo } from './helper-api.js';

/** What the uploader may choose; anything left out comes from the helper's defaults. */
export interface ParamChoice {
  k?: number;
  n?: number;
  happy?: number;
  maxSegmentSize?: number;
}

export interface ResolvedParams {
  encoding: EncodingParams;
  happy: number;
  maxFileSize?: number;
}

/**
 * Fills in the helper's defaults (asking it first also checks the URL and
 * token before hashing a large file). Parameters enter the convergent key, so
 * the same file under other parameters is another upload.
 */
export async function resolveParams(c: ParamChoice, info: () => Promise<HelperInfo>): Promise<ResolvedParams> {
  const i = await info();
  const d = i.defaults;
  const k = c.k ?? d.k;
  const n = c.n ?? d.n;
  const encoding = { k, n, maxSegmentSize: c.maxSegmentSize ?? d.maxSegmentSize };
  validateParams(encoding);
  // An unspecified happy follows the helper's default, within what k and n allow.
  const happy = c.happy ?? Math.min(n, Math.max(k, d.happy));
  if (!Number.isInteger(happy) || happy < k || happy > n) throw new FerryError('INVALID_PARAMETERS', `happy=${happy} must be an integer between k=${k} and n=${n}`);
  return { encoding, happy, maxFileSize: i.maxFileSize };
}
