import { FerryError } from '../../core/errors.js';
import { emptyLeafHash, HASH_BYTES, nodeHash, paddedLeafCount } from '../../core/merkle.js';
import { fileGeometry, type FileGeometry } from '../../core/params.js';
import { parseStorageIndex } from '../../core/storage-index.js';
import type { JobParams } from '../jobs/job.js';
import { CheckRequest } from '../protocol.js';

export interface ValidCheck {
  si: string;
  params: JobParams;
  geometry: FileGeometry;
  hashes: Uint8Array;
  crypttextRoot: string;
}

/** The helper limits a check is held to (helper/config.ts limits). */
export interface CheckLimits {
  maxFileSize: number;
  /** Smallest segment a file larger than this may be cut into. */
  minSegmentSize: number;
  maxSegments: number;
  /** n × segment size (the coded blocks of a segment, in memory while it is pushed). */
  maxCodedSegmentBytes: number;
}


const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Room for the JSON around the segment hashes. */
const CHECK_ENVELOPE_BYTES = 64 * 1024;

/** Largest check body worth reading: the base64 hashes of `maxSegments` segments and the fields around them. */
export function checkBodyLimit(limits: Pick<CheckLimits, 'maxSegments'>): number {
  return Math.ceil((limits.maxSegments * HASH_BYTES) / 3) * 4 + CHECK_ENVELOPE_BYTES;
}

/** Hashes computed between two turns of the event loop while a tree root is built. */
const HASHES_PER_TURN = 4096;

/**
 * The Merkle root over the segment hashes (the same root as core/merkle.ts
 * MerkleTree), built a slice at a time: a million leaves take seconds of
 * hashing, which must not stall every other request meanwhile.
 */
export async function segmentTreeRoot(hashes: Uint8Array): Promise<Buffer> {
  const leaves = hashes.length / HASH_BYTES;
  const padded = paddedLeafCount(leaves);
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  let level: Uint8Array[] = [];
  for (let i = 0; i < padded; i++) {
    if (i < leaves) level.push(hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES));
    else level.push(emptyLeafHash(i));
    if (i >= leaves && (i - leaves) % HASHES_PER_TURN === HASHES_PER_TURN - 1) await turn();
  }
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(nodeHash(level[i], level[i + 1]));
      if (next.length % HASHES_PER_TURN === 0) await turn();
    }
    level = next;
  }
  return Buffer.from(level[0]);
}

/**
 * Everything a check must satisfy before the helper touches its state. The
 * cheap checks (sizes, segment count, body length) come before the hashes
 * are decoded or hashed, so an oversized request costs next to nothing.
 */
export async function validateCheck(body: unknown, limits: CheckLimits): Promise<ValidCheck> {
  const req = CheckRequest.parse(body);
  parseStorageIndex(req.storageIndex);
  const { k, n, happy, size, maxSegmentSize } = req;
  if (k > n) throw new FerryError('INVALID_PARAMETERS', `k=${k} exceeds n=${n}`);
  if (happy < k || happy > n) throw new FerryError('INVALID_PARAMETERS', `happy=${happy} must be between k=${k} and n=${n}`);
  if (size > limits.maxFileSize) throw new FerryError('INVALID_PARAMETERS', `size ${size} exceeds this helper's limit of ${limits.maxFileSize} bytes`);
  const geometry = fileGeometry(size, { k, n, maxSegmentSize });
  // Small files may use any segment size: they cannot have many segments.
  if (size > limits.minSegmentSize && geometry.segmentSize < limits.minSegmentSize) {
    throw new FerryError('INVALID_PARAMETERS', `segment size ${geometry.segmentSize} is below this helper's minimum of ${limits.minSegmentSize} bytes for a file of ${size} bytes`);
  }
  if (geometry.numSegments > limits.maxSegments) {
    throw new FerryError('INVALID_PARAMETERS', `${geometry.numSegments} segments exceed this helper's limit of ${limits.maxSegments} per file; use a larger segment size`);
  }
  const maxCoded = limits.maxCodedSegmentBytes;
  if (n * geometry.segmentSize > maxCoded) {
    throw new FerryError('INVALID_PARAMETERS', `n × segment size = ${n} × ${geometry.segmentSize} exceeds this helper's limit of ${maxCoded} bytes; use fewer shares or a smaller segment size`, {
      details: { maxCodedSegmentBytes: maxCoded },
    });
  }
  const expectedBytes = geometry.numSegments * HASH_BYTES;
  if (!BASE64.test(req.segmentHashes)) throw new FerryError('BAD_REQUEST', 'segmentHashes must be base64');
  const hashes = new Uint8Array(Buffer.from(req.segmentHashes, 'base64'));
  if (hashes.length !== expectedBytes) {
    throw new FerryError('INVALID_PARAMETERS', `expected ${geometry.numSegments} segment hashes (${expectedBytes} bytes), got ${hashes.length} bytes`);
  }
  const root = (await segmentTreeRoot(hashes)).toString('hex');
  return { si: req.storageIndex, params: { size, k, n, happy, maxSegmentSize }, geometry, hashes, crypttextRoot: root };
}

/**
 * A check as its raw request body: utf-8 JSON (malformed JSON is 400
 * BAD_REQUEST, as the JSON body parser answers it), then validateCheck.
 */
export async function parseCheckBody(raw: Uint8Array, limits: CheckLimits): Promise<ValidCheck> {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8'));
  } catch (err) {
    throw new FerryError('BAD_REQUEST', err instanceof Error ? err.message : 'request body is not valid JSON');
  }
  return validateCheck(body, limits);
}

/** How many leading segments two hash lists agree on. */
export function commonPrefixSegments(a: Uint8Array, b: Uint8Array): number {
  const count = Math.min(a.length, b.length) / HASH_BYTES;
  for (let i = 0; i < count; i++) {
    if (!Buffer.from(a.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)).equals(b.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES))) return i;
  }
  return count;
}
