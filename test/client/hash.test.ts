import { randomBytes } from 'node:crypto';
import { open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { segmentRange } from '../../core/params.js';
import { hashFile, hashSegmentAt } from '../../client/hash-file.js';
import { prepare } from '../support/prepare.js';
import { tempDir } from '../support/tmp.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('ferry-hash-')));
afterAll(() => cleanup());

const secret = new Uint8Array(32).fill(42);

describe('client hashing passes', () => {
  // Sizes around segment boundaries, with segments smaller and larger than the 4 MiB read chunk.
  const cases = [
    { size: 0, seg: 4096 },
    { size: 1, seg: 4096 },
    { size: 4095, seg: 4096 },
    { size: 4097, seg: 4096 },
    { size: 12 * 4096 + 5, seg: 4096 },
    { size: 5 * 1024 * 1024 + 7, seg: 1024 * 1024 },
    { size: 9 * 1024 * 1024 + 1, seg: 6 * 1024 * 1024 },
  ];
  for (const { size, seg } of cases) {
    it(`matches the reference for ${size} bytes in segments of ${seg}`, async () => {
      const plain = randomBytes(size);
      const file = path.join(dir, `f-${size}-${seg}`);
      await writeFile(file, plain);
      const params = { k: 3, n: 10, maxSegmentSize: seg };
      const ref = await prepare(plain, params, secret);
      const fh = await open(file);
      try {
        let last = 0;
        const got = await hashFile({ fh, size, params, secret, onBytes: (d, t) => (last = d / t) });
        expect(Buffer.from(got.key).equals(Buffer.from(ref.key))).toBe(true);
        expect(got.hashes.equals(ref.hashes)).toBe(true);
        if (size) expect(last).toBe(1);
        if (size) {
          const i = ref.geometry.numSegments - 1;
          const { start, end } = segmentRange(ref.geometry, i);
          expect((await hashSegmentAt(fh, got.key, start, end)).equals(ref.hashes.subarray(i * 32, i * 32 + 32))).toBe(true);
        }
      } finally {
        await fh.close();
      }
    });
  }

  it('uses a fresh key per call in random mode', async () => {
    const file = path.join(dir, 'r');
    await writeFile(file, randomBytes(10_000));
    const fh = await open(file);
    try {
      const a = await hashFile({ fh, size: 10_000, params: { k: 3, n: 10, maxSegmentSize: 4096 }, secret: undefined });
      const b = await hashFile({ fh, size: 10_000, params: { k: 3, n: 10, maxSegmentSize: 4096 }, secret: undefined });
      expect(Buffer.from(a.key).equals(Buffer.from(b.key))).toBe(false);
      expect(a.hashes.equals(b.hashes)).toBe(false);
    } finally {
      await fh.close();
    }
  });
});
