import type { FileHandle } from 'node:fs/promises';
import { cipherReady, SeekableCipher } from '../core/crypto/cipher.js';
import { ConvergentKeyHasher, randomKey } from '../core/crypto/convergent-key.js';
import { fileGeometry, type EncodingParams, type FileGeometry } from '../core/params.js';
import { framedDigest, netstring, TAGS, taggedHash, taggedHasher } from '../core/tagged-hash.js';
import { cipherPieces, encryptInto } from './cipher-pieces.js';
import { readChunks } from './file-source.js';

const HASH_CHUNK = 1024 * 1024;

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

  const hashes = await segmentHashes(o.fh, key, g, o.signal, tick);
  return { key, hashes };
}

const PREFIX = netstring(TAGS.crypttextSegment);
/** Segments hashed at once, bounded to ~8 MiB of buffers: enough to keep the libuv pool busy on a few cores. */
const MAX_IN_FLIGHT_BYTES = 8 * 1024 * 1024;

/**
 * Pass two: encrypt on the event loop, SHA-256 each whole segment with
 * WebCrypto on the libuv pool. SHA-256 is the slowest step on CPUs without
 * SHA extensions; this way it runs on other cores while the next segment is
 * read and encrypted.
 */
async function segmentHashes(fh: FileHandle, key: Uint8Array, g: FileGeometry, signal: AbortSignal | undefined, tick: (n: number) => void): Promise<Buffer> {
  const out = Buffer.alloc(g.numSegments * 32);
  if (g.size === 0) {
    taggedHash(TAGS.crypttextSegment).copy(out, 0);
    return out;
  }
  const cursor = new SeekableCipher(key).cursor(0);
  const depth = Math.max(1, Math.min(64, Math.floor(MAX_IN_FLIGHT_BYTES / g.segmentSize)));
  const free: Buffer[] = [];
  const inFlight: Promise<void>[] = [];
  let segment = 0;
  let segmentLength = Math.min(g.size, g.segmentSize);
  let cur = newSegmentBuffer(free, g.segmentSize);
  let fill = 0;
  for await (const plain of readChunks(fh, 0, g.size, HASH_CHUNK, signal)) {
    for (let off = 0; off < plain.length; ) {
      const take = Math.min(plain.length - off, segmentLength - fill);
      // Straight into the segment's buffer: no ciphertext buffer per read.
      encryptInto(cursor, plain.subarray(off, off + take), cur, PREFIX.length + fill);
      fill += take;
      off += take;
      if (fill < segmentLength) continue;
      const i = segment;
      const buf = cur;
      const done = framedDigest(buf.subarray(0, PREFIX.length + fill)).then((d) => {
        d.copy(out, i * 32);
        free.push(buf);
      });
      done.catch(() => undefined); // awaited below
      inFlight.push(done);
      segment++;
      segmentLength = Math.min(g.size - segment * g.segmentSize, g.segmentSize);
      fill = 0;
      while (inFlight.length >= depth) await inFlight.shift();
      cur = newSegmentBuffer(free, g.segmentSize);
    }
    tick(plain.length);
  }
  await Promise.all(inFlight);
  return out;
}

function newSegmentBuffer(free: Buffer[], segmentSize: number): Buffer {
  const b = free.pop();
  if (b) return b;
  const fresh = Buffer.allocUnsafe(PREFIX.length + segmentSize);
  PREFIX.copy(fresh, 0);
  return fresh;
}

/** Hash of one ciphertext segment, recomputed from the file (to tell a changed file from a corrupting link). */
export async function hashSegmentAt(fh: FileHandle, key: Uint8Array, start: number, end: number): Promise<Buffer> {
  await cipherReady();
  const cursor = new SeekableCipher(key).cursor(start);
  const hasher = taggedHasher(TAGS.crypttextSegment);
  for await (const plain of readChunks(fh, start, end, HASH_CHUNK)) for (const ct of cipherPieces(cursor, plain)) hasher.update(ct);
  return hasher.digest();
}
