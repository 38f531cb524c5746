/**
 * Tagged hashes of whole blocks and segments, computed by WebCrypto on the
 * libuv thread pool so that the event loop keeps moving bytes meanwhile
 * (hashing is most of a download's CPU: every byte is hashed twice, as a
 * block and as a segment). The data lives in a "framed" buffer that starts
 * with the tag's netstring, so no copy is made to prepend it. Same values as
 * core/tagged-hash.ts taggedHash(tag, data).
 */
import { createHash, webcrypto } from 'node:crypto';
import { netstring, TAGS } from '../../core/tagged-hash.js';

export const BLOCK_PREFIX = netstring(TAGS.block);
export const SEGMENT_PREFIX = netstring(TAGS.crypttextSegment);

/** Below this, hashing in place beats a trip to the thread pool. */
const ASYNC_MIN = 64 * 1024;

/** A buffer of `prefix` followed by room for `length` bytes of data. */
export function framedBuffer(prefix: Buffer, length: number): Buffer {
  const b = Buffer.allocUnsafe(prefix.length + length);
  prefix.copy(b, 0);
  return b;
}

/** SHA-256 of a framed buffer (prefix included): the tagged hash of its data. */
export async function framedDigest(framed: Uint8Array): Promise<Buffer> {
  if (framed.length < ASYNC_MIN) return createHash('sha256').update(framed).digest();
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', framed));
}
