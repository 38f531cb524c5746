import { FormatError } from './errors.js';

export const DEFAULT_K = 3;
export const DEFAULT_N = 10;
export const DEFAULT_HAPPY = 7;
export const DEFAULT_MAX_SEGMENT_SIZE = 1024 * 1024;
/** Segments are held in memory while coded; this bounds that memory. */
export const MAX_SEGMENT_SIZE_LIMIT = 64 * 1024 * 1024;
export const MAX_SHARES = 256;

/** What the uploader chooses. */
export interface EncodingParams {
  k: number;
  n: number;
  /** Upper bound on the segment size; the real one is derived per file. */
  maxSegmentSize: number;
}

/** Everything about a file's cut into segments and blocks, derived from (size, k, n, maxSegmentSize). */
export interface FileGeometry {
  size: number;
  k: number;
  n: number;
  /** Effective segment size: a multiple of k, at most the rounded-up max. */
  segmentSize: number;
  numSegments: number;
  /** Ciphertext bytes in the last segment (the only one that may be short). */
  tailSegmentSize: number;
  /** The last segment zero-padded to a multiple of k before coding. */
  tailPaddedSize: number;
  /** segmentSize / k */
  blockSize: number;
  /** tailPaddedSize / k */
  tailBlockSize: number;
}

export function roundUp(x: number, multiple: number): number {
  return Math.ceil(x / multiple) * multiple;
}

export function validateParams(p: EncodingParams): void {
  const { k, n, maxSegmentSize } = p;
  validateShareCounts(k, n);
  if (!Number.isInteger(maxSegmentSize) || maxSegmentSize < 1 || maxSegmentSize > MAX_SEGMENT_SIZE_LIMIT) {
    throw new FormatError('INVALID_PARAMETERS', `segment size must be an integer in 1..${MAX_SEGMENT_SIZE_LIMIT}, got ${maxSegmentSize}`);
  }
}

function validateShareCounts(k: number, n: number): void {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n < 1 || n > MAX_SHARES || k > n) {
    throw new FormatError('INVALID_PARAMETERS', `need integers 1 <= k <= n <= ${MAX_SHARES}, got k=${k} n=${n}`);
  }
}

export function validateSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new FormatError('INVALID_PARAMETERS', `size must be a non-negative safe integer, got ${size}`);
  }
}

/**
 * The largest segment a writer produces: the 64 MiB cap rounded up to a
 * multiple of k (64 MiB + 2 for k = 3). Readers accept exactly up to this, so
 * every file a writer makes is one its readers take (docs/format.md section 5).
 */
export function maxEffectiveSegmentSize(k: number): number {
  return roundUp(MAX_SEGMENT_SIZE_LIMIT, k);
}

/** The writer's geometry: `maxSegmentSize` is the configured one (at most 64 MiB). */
export function fileGeometry(size: number, p: EncodingParams): FileGeometry {
  validateParams(p);
  validateSize(size);
  return deriveGeometry(size, p.k, p.n, p.maxSegmentSize);
}

/**
 * The reader's geometry, from a segment size found in a UEB or share header:
 * as fileGeometry with maxSegmentSize = segmentSize, except that it may reach
 * maxEffectiveSegmentSize(k), the largest a writer produces.
 */
export function segmentGeometry(size: number, k: number, n: number, segmentSize: number): FileGeometry {
  validateShareCounts(k, n);
  validateSize(size);
  if (!Number.isInteger(segmentSize) || segmentSize < 1 || segmentSize > maxEffectiveSegmentSize(k)) {
    throw new FormatError('INVALID_PARAMETERS', `segment size must be an integer in 1..${maxEffectiveSegmentSize(k)} for k=${k}, got ${segmentSize}`);
  }
  return deriveGeometry(size, k, n, segmentSize);
}

function deriveGeometry(size: number, k: number, n: number, maxSegmentSize: number): FileGeometry {
  // As Tahoe: never a segment larger than the file, always a multiple of k.
  const segmentSize = roundUp(Math.min(maxSegmentSize, Math.max(size, 1)), k);
  const numSegments = size === 0 ? 1 : Math.ceil(size / segmentSize);
  const tailSegmentSize = size - (numSegments - 1) * segmentSize;
  const tailPaddedSize = roundUp(tailSegmentSize, k);
  return {
    size,
    k,
    n,
    segmentSize,
    numSegments,
    tailSegmentSize,
    tailPaddedSize,
    blockSize: segmentSize / k,
    tailBlockSize: tailPaddedSize / k,
  };
}

/** Ciphertext byte range [start, end) of segment i. */
export function segmentRange(g: FileGeometry, i: number): { start: number; end: number } {
  if (!Number.isInteger(i) || i < 0 || i >= g.numSegments) {
    throw new FormatError('INVALID_PARAMETERS', `segment ${i} out of range 0..${g.numSegments - 1}`);
  }
  const start = i * g.segmentSize;
  return { start, end: i === g.numSegments - 1 ? g.size : start + g.segmentSize };
}

export function blockSizeOf(g: FileGeometry, i: number): number {
  return i === g.numSegments - 1 ? g.tailBlockSize : g.blockSize;
}
