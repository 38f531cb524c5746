/**
 * Conformance vectors (docs/format.md section 11): what a file of a stated,
 * seed-generated plaintext turns into under each parameter set. generate.ts
 * writes them to vectors.json; test/core/vectors.test.ts recomputes them, so
 * any change to Ferry's bytes is deliberate and visible.
 */
import { createHash } from 'node:crypto';
import { etagOf, formatReadCap, formatVerifyCap, verifyCapOf } from '../../core/capability.js';
import { cipherReady, SeekableCipher } from '../../core/crypto/cipher.js';
import { convergentKey } from '../../core/crypto/convergent-key.js';
import { fileGeometry, type EncodingParams } from '../../core/params.js';
import { formatStorageIndex, storageIndexFromKey } from '../../core/storage-index.js';
import { shareDigests } from '../support/memory-shares.js';

const KiB = 1024;
const MiB = 1024 * KiB;

export const SEED = 'ferry-v1 conformance vectors';

export interface VectorCase extends EncodingParams {
  name: string;
  size: number;
}

export interface Vector extends VectorCase {
  plaintextSha256: string;
  segmentSize: number;
  numSegments: number;
  convergenceSecret: string;
  key: string;
  storageIndex: string;
  readCap: string;
  verifyCap: string;
  ueb: string;
  uebHash: string;
  etag: string;
  shareSize: number;
  shareSha256: string[];
}

/** Each one exercises an edge a second implementation is likely to get wrong. */
export const CASES: VectorCase[] = [
  { name: 'empty file', size: 0, k: 3, n: 10, maxSegmentSize: MiB },
  { name: 'one byte', size: 1, k: 3, n: 10, maxSegmentSize: MiB },
  { name: 'k = 1, n = 1', size: 1000, k: 1, n: 1, maxSegmentSize: MiB },
  { name: 'k = 1, n = 2, several segments', size: 5000, k: 1, n: 2, maxSegmentSize: 1000 },
  { name: 'n = 256', size: 3000, k: 7, n: 256, maxSegmentSize: KiB },
  { name: 'k = n = 10', size: 777, k: 10, n: 10, maxSegmentSize: 100 },
  { name: 'k = 17, n = 20, tail padded', size: 4101, k: 17, n: 20, maxSegmentSize: KiB },
  { name: 'size = maxSegmentSize - 1', size: 4095, k: 3, n: 10, maxSegmentSize: 4096 },
  { name: 'size = maxSegmentSize (segment rounded up to k)', size: 4096, k: 3, n: 10, maxSegmentSize: 4096 },
  { name: 'size = segmentSize + 1 (one-byte tail)', size: 4099, k: 3, n: 10, maxSegmentSize: 4096 },
  { name: 'exactly three segments', size: 3 * 4098, k: 3, n: 10, maxSegmentSize: 4096 },
  { name: 'five segments, padded tree', size: 5 * 4098 - 1, k: 3, n: 10, maxSegmentSize: 4096 },
  { name: 'defaults, two segments', size: MiB + 3, k: 3, n: 10, maxSegmentSize: MiB },
];

/** The largest segment (64 MiB rounded up to k): its own file, as it takes seconds to compute. */
export const LARGE_CASES: VectorCase[] = [{ name: 'largest segment size, two segments', size: 64 * MiB + 3, k: 3, n: 4, maxSegmentSize: 64 * MiB }];

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();

/** Plaintexts are prefixes of one keystream (section 4's cipher under key SHA-256(SEED)), so the JSON needs no file. */
export async function plaintextOf(size: number): Promise<Buffer> {
  await cipherReady();
  return new SeekableCipher(sha256(Buffer.from(SEED, 'ascii'))).xorAt(0, new Uint8Array(size));
}

export function convergenceSecretOf(): Buffer {
  return sha256(Buffer.from(`${SEED}: convergence secret`, 'ascii'));
}

export async function computeVector(c: VectorCase): Promise<Vector> {
  const plain = await plaintextOf(c.size);
  const params: EncodingParams = { k: c.k, n: c.n, maxSegmentSize: c.maxSegmentSize };
  const secret = convergenceSecretOf();
  const key = await convergentKey(secret, params, plain);
  const ciphertext = new SeekableCipher(key).xorAt(0, plain);
  const g = fileGeometry(c.size, params);
  const enc = shareDigests(ciphertext, g);
  const readCap = formatReadCap({ key, uebHash: enc.uebHash, k: c.k, n: c.n, size: c.size });
  const verify = verifyCapOf({ kind: 'read', key, uebHash: enc.uebHash, k: c.k, n: c.n, size: c.size });
  return {
    ...c,
    plaintextSha256: sha256(plain).toString('hex'),
    segmentSize: g.segmentSize,
    numSegments: g.numSegments,
    convergenceSecret: secret.toString('hex'),
    key: Buffer.from(key).toString('hex'),
    storageIndex: formatStorageIndex(storageIndexFromKey(key)),
    readCap,
    verifyCap: formatVerifyCap(verify),
    ueb: enc.ueb.toString('hex'),
    uebHash: enc.uebHash.toString('hex'),
    etag: etagOf(verify),
    shareSize: enc.layout.end,
    shareSha256: enc.digests,
  };
}

export interface VectorFile {
  description: string;
  seed: string;
  vectors: Vector[];
}

export async function computeVectorFile(cases: VectorCase[]): Promise<VectorFile> {
  const vectors: Vector[] = [];
  for (const c of cases) vectors.push(await computeVector(c));
  return { description: 'Ferry format 1 conformance vectors: see docs/format.md section 11', seed: SEED, vectors };
}
