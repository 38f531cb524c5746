import type { FileHandle } from 'node:fs/promises';
import { cipherReady, SeekableCipher } from '../core/crypto/cipher.js';
import { ConvergentKeyHasher, randomKey } from '../core/crypto/convergent-key.js';
import { fileGeometry, type EncodingParams } from '../core/params.js';
import { TAGS, taggedHasher } from '../core/tagged-hash.js';
import { readChunks } from './file-source.js';

const HASH_CHUNK = 4 * 1024 * 1024;

export interface FileHashes {
  key: Uint8Array;
  /** Concatenated 32-byte crypttext segment hashes. */
  hashes: Buffer;
}

/**
 * The client's two passes over the plaintext (docs/format.md 2, 4, 7):
 * first the convergent key (skipped with a random key), then encryption to
 * hash each unpadded ciphertext segment. Nothing is kept but 32 bytes per
 * segment; the ciphertext is produced again, from any offset, when sent.
 */
export async function hashFile(o: {
  fh: FileHandle;
  size: number;
  params: EncodingParams;
  /** Convergence secret; undefined = random key. */
  secret: Uint8Array | undefined;
  signal?: AbortSignal;
  onBytes?: (done: number, total: number) => void;
}): Promise<FileHashes> {
  await cipherReady();
  const g = fileGeometry(o.size, o.params);
  const passes = o.secret ? 2 : 1;
  const total = o.size * passes;
  let done = 0;
  const tick = (n: number) => {
    done += n;
    o.onBytes?.(done, total);
  };

  let key: Uint8Array;
  if (o.secret) {
    const hasher = await ConvergentKeyHasher.create(o.secret, o.params);
    for await (const chunk of readChunks(o.fh, 0, o.size, HASH_CHUNK, o.signal)) {
      hasher.update(chunk);
      tick(chunk.length);
    }
    key = hasher.digest();
  } else {
    key = randomKey();
  }

  const cursor = new SeekableCipher(key).cursor(0);
  const hashes = Buffer.alloc(g.numSegments * 32);
  let segment = 0;
  let segmentEnd = Math.min(o.size, g.segmentSize);
  let position = 0;
  let hasher = taggedHasher(TAGS.crypttextSegment);
  for await (const plain of readChunks(o.fh, 0, o.size, HASH_CHUNK, o.signal)) {
    const ct = cursor.update(plain);
    for (let off = 0; off < ct.length; ) {
      const take = Math.min(ct.length - off, segmentEnd - position);
      hasher.update(ct.subarray(off, off + take));
      off += take;
      position += take;
      if (position === segmentEnd) {
        hasher.digest().copy(hashes, segment * 32);
        segment++;
        segmentEnd = Math.min(o.size, segmentEnd + g.segmentSize);
        hasher = taggedHasher(TAGS.crypttextSegment);
      }
    }
    tick(plain.length);
  }
  // An empty file is one empty segment.
  if (o.size === 0) hasher.digest().copy(hashes, 0);
  return { key, hashes };
}

/** Hash of one ciphertext segment, recomputed from the file (to tell a changed file from a corrupting link). */
export async function hashSegmentAt(fh: FileHandle, key: Uint8Array, start: number, end: number): Promise<Buffer> {
  await cipherReady();
  const cursor = new SeekableCipher(key).cursor(start);
  const hasher = taggedHasher(TAGS.crypttextSegment);
  for await (const plain of readChunks(fh, start, end, HASH_CHUNK)) hasher.update(cursor.update(plain));
  return hasher.digest();
}
