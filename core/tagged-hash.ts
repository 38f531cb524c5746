import { createHash, webcrypto } from 'node:crypto';

/** Netstring: `<decimal length>:<bytes>,` — unambiguous framing for tags. */
export function netstring(data: Uint8Array | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([Buffer.from(`${body.length}:`), body, Buffer.from(',')]);
}

/** Every hash Ferry computes has its own tag, so no hash can stand in for another kind. */
export const TAGS = {
  storageIndex: 'ferry-v1:storage-index',
  crypttextSegment: 'ferry-v1:crypttext-segment',
  block: 'ferry-v1:block',
  merkleNode: 'ferry-v1:merkle-node',
  merklePad: 'ferry-v1:merkle-empty-leaf',
  ueb: 'ferry-v1:ueb',
  etag: 'ferry-v1:etag',
  convergentKey: 'ferry-v1:convergent-key',
} as const;

const prefixes = new Map<string, Buffer>();
function prefix(tag: string): Buffer {
  let p = prefixes.get(tag);
  if (!p) {
    p = netstring(tag);
    prefixes.set(tag, p);
  }
  return p;
}

/** SHA-256(netstring(tag) || data...). */
export function taggedHash(tag: string, ...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  h.update(prefix(tag));
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Incremental form of {@link taggedHash}, for data that arrives in pieces. */
export function taggedHasher(tag: string): { update(data: Uint8Array): void; digest(): Buffer } {
  const h = createHash('sha256');
  h.update(prefix(tag));
  return {
    update(data: Uint8Array) {
      h.update(data);
    },
    digest() {
      return h.digest();
    },
  };
}

/**
 * A "framed" buffer: netstring(tag) followed by room for `length` bytes of
 * data, so that data read or copied into it can be hashed without another
 * copy to prepend the tag.
 */
export function framedBuffer(tag: string, length: number): Buffer {
  const p = prefix(tag);
  const b = Buffer.allocUnsafe(p.length + length);
  p.copy(b, 0);
  return b;
}

/** Length of the tag framing at the start of a framed buffer. */
export function frameLength(tag: string): number {
  return prefix(tag).length;
}

/** Below this, hashing in place beats a trip to the thread pool. */
const ASYNC_MIN = 64 * 1024;

/**
 * SHA-256 of a framed buffer (tag included), i.e. taggedHash(tag, data).
 * Large inputs are hashed by WebCrypto on the libuv thread pool, so the event
 * loop keeps moving bytes meanwhile.
 */
export async function framedDigest(framed: Uint8Array): Promise<Buffer> {
  if (framed.length < ASYNC_MIN) return createHash('sha256').update(framed).digest();
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', framed));
}
