import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { fileGeometry, segmentRange, type EncodingParams } from '../../core/params.js';
import { crypttextSegmentHash } from '../../core/share-builder.js';
import { formatStorageIndex } from '../../core/storage-index.js';

export interface BenchFile {
  path: string;
  size: number;
  si: string;
  hashes: Buffer;
  params: EncodingParams;
}

/**
 * Writes `size` random bytes (as good as ciphertext for a transfer benchmark)
 * and their segment hashes, without holding the file in memory.
 */
export async function makeBenchFile(path: string, size: number, params: EncodingParams): Promise<BenchFile> {
  const g = fileGeometry(size, params);
  const out = createWriteStream(path);
  const hashes: Buffer[] = [];
  for (let i = 0; i < g.numSegments; i++) {
    const { start, end } = segmentRange(g, i);
    const seg = randomBytes(end - start);
    hashes.push(crypttextSegmentHash(seg));
    if (!out.write(seg)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { path, size, si: formatStorageIndex(randomBytes(16)), hashes: Buffer.concat(hashes), params };
}
