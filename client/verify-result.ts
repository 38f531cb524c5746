import { IntegrityError } from '../core/errors.js';
import type { FileGeometry } from '../core/params.js';
import { decodeUeb, uebHash } from '../core/ueb.js';

/**
 * The client's check of what the helper says it stored, before any
 * capability is issued: the UEB must hash to the claimed uebHash, describe
 * this file's parameters and geometry, and commit to the crypttext root the
 * client computed itself. A helper that encoded other bytes (bug, disk fault,
 * or malice) cannot get its UEB into our capability.
 */
export function verifyHelperResult(result: { ueb: string; uebHash: string }, expected: { geometry: FileGeometry; crypttextRoot: Uint8Array }): Buffer {
  const fail = (why: string) => new IntegrityError(`the helper's result does not match this file: ${why}; no capability was issued`);
  const bytes = Buffer.from(result.ueb, 'base64');
  const hash = uebHash(bytes);
  if (hash.toString('hex') !== result.uebHash) throw fail(`its UEB hashes to ${hash.toString('hex')}, not the claimed ${result.uebHash}`);
  let ueb;
  try {
    ueb = decodeUeb(bytes);
  } catch (err) {
    throw fail(`its UEB is malformed (${(err as Error).message})`);
  }
  const g = expected.geometry;
  for (const [field, got, want] of [
    ['k', ueb.k, g.k],
    ['n', ueb.n, g.n],
    ['size', ueb.size, g.size],
    ['segment size', ueb.segmentSize, g.segmentSize],
    ['segment count', ueb.numSegments, g.numSegments],
  ] as const) {
    if (got !== want) throw fail(`UEB ${field} is ${got}, expected ${want}`);
  }
  const root = Buffer.from(ueb.crypttextRoot);
  if (!root.equals(expected.crypttextRoot)) {
    throw fail(`UEB crypttext root is ${root.toString('hex')}, but this file's ciphertext hashes to ${Buffer.from(expected.crypttextRoot).toString('hex')}`);
  }
  return hash;
}
