import { FerryError } from '../../core/errors.js';
import { HASH_BYTES, MerkleTree, splitHashes } from '../../core/merkle.js';
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

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Everything a check must satisfy before the helper touches its state. */
export function validateCheck(body: unknown, maxFileSize: number): ValidCheck {
  const req = CheckRequest.parse(body);
  parseStorageIndex(req.storageIndex);
  const { k, n, happy, size, maxSegmentSize } = req;
  if (k > n) throw new FerryError('INVALID_PARAMETERS', `k=${k} exceeds n=${n}`);
  if (happy < k || happy > n) throw new FerryError('INVALID_PARAMETERS', `happy=${happy} must be between k=${k} and n=${n}`);
  if (size > maxFileSize) throw new FerryError('INVALID_PARAMETERS', `size ${size} exceeds this helper's limit of ${maxFileSize} bytes`);
  const geometry = fileGeometry(size, { k, n, maxSegmentSize });
  if (!BASE64.test(req.segmentHashes)) throw new FerryError('BAD_REQUEST', 'segmentHashes must be base64');
  const hashes = new Uint8Array(Buffer.from(req.segmentHashes, 'base64'));
  if (hashes.length !== geometry.numSegments * HASH_BYTES) {
    throw new FerryError('INVALID_PARAMETERS', `expected ${geometry.numSegments} segment hashes (${geometry.numSegments * HASH_BYTES} bytes), got ${hashes.length} bytes`);
  }
  const root = new MerkleTree(splitHashes(hashes)).root.toString('hex');
  return { si: req.storageIndex, params: { size, k, n, happy, maxSegmentSize }, geometry, hashes, crypttextRoot: root };
}

/** How many leading segments two hash lists agree on. */
export function commonPrefixSegments(a: Uint8Array, b: Uint8Array): number {
  const count = Math.min(a.length, b.length) / HASH_BYTES;
  for (let i = 0; i < count; i++) {
    if (!Buffer.from(a.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)).equals(b.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES))) return i;
  }
  return count;
}
