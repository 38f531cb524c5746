/**
 * Ferry against its own published conformance vectors (test/vectors/,
 * docs/format.md section 11): every key, cap, UEB and share hash is
 * recomputed (large-vectors.json, 64 MiB, by the largest-segment fault drill
 * instead: it takes seconds). A failure here means the bytes Ferry writes changed: if that is
 * deliberate, regenerate with `npx tsx test/vectors/generate.ts` and say so.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { etagOf, parseReadCap, toVerifyCap } from '../../core/capability.js';
import { maxEffectiveSegmentSize } from '../../core/params.js';
import { decodeUeb, uebHash } from '../../core/ueb.js';
import { CASES, computeVector, LARGE_CASES, SEED, type VectorFile } from '../vectors/compute.js';

const load = (name: string) => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8')) as VectorFile;
const small = load('vectors.json');
const large = load('large-vectors.json');

describe('conformance vectors', () => {
  it('cover the cases the generator lists, from the stated seed', () => {
    for (const [file, cases] of [[small, CASES], [large, LARGE_CASES]] as const) {
      expect(file.seed).toBe(SEED);
      expect(file.vectors.map((v) => v.name)).toEqual(cases.map((c) => c.name));
    }
    expect(large.vectors[0].segmentSize).toBe(maxEffectiveSegmentSize(3));
  });

  it.each(small.vectors.map((v) => [v.name, v] as const))('%s: Ferry computes exactly the published bytes', async (_name, v) => {
    expect(await computeVector(v)).toEqual(v);
  });

  it('are self-consistent: caps parse to their fields, the UEB hashes to the cap, the ETag follows', () => {
    for (const v of [...small.vectors, ...large.vectors]) {
      const read = parseReadCap(v.readCap);
      expect(read).toMatchObject({ k: v.k, n: v.n, size: v.size });
      expect(Buffer.from(read.key).toString('hex')).toBe(v.key);
      const ueb = Buffer.from(v.ueb, 'hex');
      expect(uebHash(ueb).toString('hex')).toBe(v.uebHash);
      expect(decodeUeb(ueb)).toMatchObject({ k: v.k, n: v.n, size: v.size, segmentSize: v.segmentSize, numSegments: v.numSegments });
      expect(toVerifyCap(v.readCap)).toEqual(toVerifyCap(v.verifyCap));
      expect(etagOf(toVerifyCap(v.verifyCap))).toBe(v.etag);
      expect(v.shareSha256).toHaveLength(v.n);
    }
  });
});
