/**
 * The largest segment: with maxSegmentSize = 64 MiB, the writer rounds the
 * segment up to a multiple of k (64 MiB + 2 for k = 3). Every reader must
 * take what the writer makes (docs/format.md sections 5 and 8), or a check
 * would call good shares corrupt.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fileGeometry, MAX_SEGMENT_SIZE_LIMIT, maxEffectiveSegmentSize, segmentGeometry } from '../../core/params.js';
import { verifyShareBytes } from '../../core/share-check.js';
import { decodeShareHeader, encodeShareHeader, layoutFor, shareLayout } from '../../core/share-layout.js';
import { verifyUeb } from '../../core/share-verify.js';
import { decodeUeb, encodeUeb, uebGeometry } from '../../core/ueb.js';
import { encodeInMemory } from '../support/memory-shares.js';

const LIMIT = MAX_SEGMENT_SIZE_LIMIT;
const KS = [3, 7, 10, 17] as const;
const roots = { crypttextRoot: new Uint8Array(32).fill(1), shareRoot: new Uint8Array(32).fill(2) };

describe('largest segment size, k in {3, 7, 10, 17}', () => {
  it('is the 64 MiB cap rounded up to k', () => {
    expect(KS.map(maxEffectiveSegmentSize)).toEqual([LIMIT + 2, LIMIT + 3, LIMIT + 6, LIMIT + 13]);
  });

  it('every file the writer makes with maxSegmentSize = 64 MiB has a UEB, geometry and header every reader accepts', () => {
    const size = fc.oneof(fc.integer({ min: LIMIT - 300, max: LIMIT + 300 }), fc.integer({ min: 0, max: 2 ** 45 }), fc.integer({ min: 1, max: 4 }).map((m) => m * (LIMIT + 13) + 1));
    fc.assert(
      fc.property(fc.constantFrom(...KS), fc.integer({ min: 0, max: 239 }), size, (k, extra, size) => {
        const n = k + extra;
        const g = fileGeometry(size, { k, n, maxSegmentSize: LIMIT });
        expect(g.segmentSize).toBeLessThanOrEqual(maxEffectiveSegmentSize(k));
        if (size >= LIMIT) expect(g.segmentSize).toBe(maxEffectiveSegmentSize(k));
        const ueb = { k, n, size, segmentSize: g.segmentSize, numSegments: g.numSegments, ...roots };
        const decoded = decodeUeb(encodeUeb(ueb));
        expect(decoded).toEqual(ueb);
        expect(uebGeometry(decoded)).toEqual(g);
        const layout = layoutFor(size, k, n, g.segmentSize);
        expect(layout).toEqual(shareLayout(g));
        const shnum = extra % n;
        expect(decodeShareHeader(encodeShareHeader(layout, shnum), layout).shnum).toBe(shnum);
      }),
      { numRuns: 400 },
    );
  });

  it('readers refuse a segment one multiple of k past the largest', () => {
    for (const k of KS) {
      const segmentSize = maxEffectiveSegmentSize(k) + k;
      const bytes = encodeUeb({ k, n: k, size: LIMIT, segmentSize: maxEffectiveSegmentSize(k), numSegments: 1, ...roots });
      bytes.writeBigUInt64BE(BigInt(segmentSize), 22);
      bytes.writeBigUInt64BE(BigInt(4 * segmentSize), 14);
      expect(() => decodeUeb(bytes)).toThrow(/segment size/);
      expect(() => segmentGeometry(4 * segmentSize, k, k, segmentSize)).toThrow(/segment size/);
    }
  });

  it('real shares of a 64 MiB file with k = 3 (segment 64 MiB + 2) pass the full share check', () => {
    // n = k: no parity to compute, so the test stays quick; the layout is what matters here.
    const g = fileGeometry(LIMIT, { k: 3, n: 3, maxSegmentSize: LIMIT });
    expect(g).toMatchObject({ segmentSize: LIMIT + 2, numSegments: 1, tailPaddedSize: LIMIT + 2 });
    const enc = encodeInMemory(randomBytes(LIMIT), g);
    expect(verifyUeb(enc.ueb, enc.uebHash).layout).toEqual(enc.layout);
    enc.shares.forEach((share, s) => verifyShareBytes(share, enc.uebHash, s));
  });
});
