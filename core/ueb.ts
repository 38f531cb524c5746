import { FormatError } from './errors.js';
import { HASH_BYTES } from './merkle.js';
import { maxEffectiveSegmentSize, segmentGeometry, type FileGeometry } from './params.js';
import { TAGS, taggedHash } from './tagged-hash.js';

/**
 * URI extension block: everything a downloader needs to interpret shares,
 * committed to by the capability through its hash. Fixed-size binary so that
 * it has exactly one encoding and so share offsets never depend on it.
 */
export const UEB_MAGIC = Buffer.from('FERRYUEB', 'ascii');
export const UEB_VERSION = 1;
/** Codec 1: systematic Reed-Solomon over GF(2^8), byte-compatible with zfec. */
export const CODEC_ZFEC = 1;
export const UEB_BYTES = 8 + 1 + 1 + 2 + 2 + 8 + 8 + 8 + HASH_BYTES + HASH_BYTES; // 102

export interface Ueb {
  k: number;
  n: number;
  size: number;
  segmentSize: number;
  numSegments: number;
  crypttextRoot: Uint8Array;
  shareRoot: Uint8Array;
}

export function encodeUeb(u: Ueb): Buffer {
  const b = Buffer.alloc(UEB_BYTES);
  let o = UEB_MAGIC.copy(b, 0);
  b.writeUInt8(UEB_VERSION, o++);
  b.writeUInt8(CODEC_ZFEC, o++);
  b.writeUInt16BE(u.k, o);
  b.writeUInt16BE(u.n, o + 2);
  o += 4;
  b.writeBigUInt64BE(BigInt(u.size), o);
  b.writeBigUInt64BE(BigInt(u.segmentSize), o + 8);
  b.writeBigUInt64BE(BigInt(u.numSegments), o + 16);
  o += 24;
  if (u.crypttextRoot.length !== HASH_BYTES || u.shareRoot.length !== HASH_BYTES) throw new FormatError('INVALID_PARAMETERS', 'UEB roots must be 32 bytes');
  b.set(u.crypttextRoot, o);
  b.set(u.shareRoot, o + HASH_BYTES);
  decodeUeb(b); // refuse to produce a UEB we would not accept
  return b;
}

function u64(b: Buffer, o: number, what: string): number {
  const v = b.readBigUInt64BE(o);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FormatError('CORRUPT_SHARE', `UEB ${what} too large`);
  return Number(v);
}

/** Parses a stored UEB; bytes that do not parse are CORRUPT_SHARE (they came from storage, not from a request). */
export function decodeUeb(bytes: Uint8Array): Ueb {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length !== UEB_BYTES) throw new FormatError('CORRUPT_SHARE', `UEB must be ${UEB_BYTES} bytes, got ${b.length}`);
  if (!b.subarray(0, 8).equals(UEB_MAGIC)) throw new FormatError('CORRUPT_SHARE', 'UEB magic mismatch');
  if (b[8] !== UEB_VERSION) throw new FormatError('CORRUPT_SHARE', `unsupported UEB version ${b[8]}`);
  if (b[9] !== CODEC_ZFEC) throw new FormatError('CORRUPT_SHARE', `unsupported codec ${b[9]}`);
  const u: Ueb = {
    k: b.readUInt16BE(10),
    n: b.readUInt16BE(12),
    size: u64(b, 14, 'size'),
    segmentSize: u64(b, 22, 'segment size'),
    numSegments: u64(b, 30, 'segment count'),
    crypttextRoot: new Uint8Array(b.subarray(38, 38 + HASH_BYTES)),
    shareRoot: new Uint8Array(b.subarray(38 + HASH_BYTES, UEB_BYTES)),
  };
  // The segment size must be one the writer could have derived, so geometry is unambiguous;
  // writers round the 64 MiB cap up to k, so readers accept up to that (format.md section 8).
  let g: FileGeometry;
  try {
    g = segmentGeometry(u.size, u.k, u.n, Math.max(1, Math.min(u.segmentSize, maxEffectiveSegmentSize(u.k))));
  } catch (err) {
    // Stored bytes, not a request: impossible parameters mean a damaged UEB.
    throw new FormatError('CORRUPT_SHARE', `UEB parameters impossible: ${(err as Error).message}`);
  }
  if (g.segmentSize !== u.segmentSize || g.numSegments !== u.numSegments) {
    throw new FormatError('CORRUPT_SHARE', 'UEB segment size or count inconsistent with size and k');
  }
  return u;
}

export function uebGeometry(u: Ueb): FileGeometry {
  return segmentGeometry(u.size, u.k, u.n, u.segmentSize);
}

export function uebHash(uebBytes: Uint8Array): Buffer {
  return taggedHash(TAGS.ueb, uebBytes);
}
