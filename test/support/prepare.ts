import { cipherReady, SeekableCipher } from '../../core/crypto/cipher.js';
import { convergentKey } from '../../core/crypto/convergent-key.js';
import { fileGeometry, segmentRange, type EncodingParams, type FileGeometry } from '../../core/params.js';
import { crypttextSegmentHash } from '../../core/share-builder.js';
import { formatStorageIndex, storageIndexFromKey } from '../../core/storage-index.js';

export interface PreparedFile {
  key: Uint8Array;
  si: string;
  ciphertext: Buffer;
  geometry: FileGeometry;
  hashes: Buffer;
  params: EncodingParams;
}

/** In-memory client side of an upload, for small test files. */
export async function prepare(plaintext: Uint8Array, params: EncodingParams = { k: 3, n: 10, maxSegmentSize: 64 * 1024 }, secret = new Uint8Array(32).fill(42)): Promise<PreparedFile> {
  await cipherReady();
  const key = await convergentKey(secret, params, plaintext);
  const ciphertext = new SeekableCipher(key).xorAt(0, plaintext);
  const geometry = fileGeometry(plaintext.length, params);
  const hashes = Buffer.concat(
    Array.from({ length: geometry.numSegments }, (_, i) => {
      const { start, end } = segmentRange(geometry, i);
      return crypttextSegmentHash(ciphertext.subarray(start, end));
    }),
  );
  return { key, si: formatStorageIndex(storageIndexFromKey(key)), ciphertext, geometry, hashes, params };
}

export function checkBody(f: PreparedFile, happy = 7) {
  return {
    storageIndex: f.si,
    size: f.geometry.size,
    k: f.params.k,
    n: f.params.n,
    happy,
    maxSegmentSize: f.params.maxSegmentSize,
    segmentHashes: f.hashes.toString('base64'),
  };
}
