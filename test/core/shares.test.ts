import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErasureCodec } from '../../core/erasure/index.js';
import { IntegrityError } from '../../core/errors.js';
import { fileGeometry, segmentRange } from '../../core/params.js';
import { verifyShareBytes } from '../../core/share-check.js';
import { crypttextSegmentHash, ShareSetBuilder, splitSegment } from '../../core/share-builder.js';
import { blockRange, shareLayout } from '../../core/share-layout.js';

/** Encodes a ciphertext into n complete shares in memory, front to back as the helper does. */
function encodeInMemory(ct: Uint8Array, k: number, n: number, seg: number) {
  const g = fileGeometry(ct.length, { k, n, maxSegmentSize: seg });
  const layout = shareLayout(g);
  const shares = Array.from({ length: n }, () => Buffer.alloc(layout.end));
  const builder = new ShareSetBuilder(layout);
  const codec = new ErasureCodec(k, n);
  for (let i = 0; i < g.numSegments; i++) {
    const { start, end } = segmentRange(g, i);
    const segment = ct.subarray(start, end);
    const blocks = codec.encode(splitSegment(g, i, segment));
    builder.addSegment(i, crypttextSegmentHash(segment), blocks);
    const { offset } = blockRange(layout, i);
    blocks.forEach((b, s) => shares[s].set(b, offset));
  }
  const out = builder.finish();
  shares.forEach((sh, s) => {
    sh.set(out.headers[s], 0);
    sh.set(out.trailers[s], layout.blockTreeOffset);
  });
  return { shares, layout, ...out };
}

describe('share building and verification', () => {
  it('every share of any file verifies against the UEB hash; the header and trailer fill the layout exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 700 }), (size, k, extra, seg) => {
        const n = k + extra;
        const enc = encodeInMemory(randomBytes(size), k, n, seg);
        expect(enc.trailers[0].length).toBe(enc.layout.end - enc.layout.blockTreeOffset);
        enc.shares.forEach((sh, s) => verifyShareBytes(sh, enc.uebHash, s));
      }),
      { numRuns: 60 },
    );
  });

  it('detects any single flipped byte anywhere in a share: blocks, trees, chain, header or UEB', () => {
    const enc = encodeInMemory(randomBytes(5000), 3, 10, 600);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (s, pos, mask) => {
        const bad = Buffer.from(enc.shares[s]);
        bad[pos % bad.length] ^= mask;
        expect(() => verifyShareBytes(bad, enc.uebHash, s)).toThrow();
      }),
      { numRuns: 400 },
    );
  });

  it('refuses a good share presented under another share number or another file', () => {
    const enc = encodeInMemory(randomBytes(2000), 3, 10, 600);
    const other = encodeInMemory(randomBytes(2000), 3, 10, 600);
    expect(() => verifyShareBytes(enc.shares[1], enc.uebHash, 2)).toThrow(IntegrityError);
    expect(() => verifyShareBytes(enc.shares[1], other.uebHash, 1)).toThrow(/UEB does not match/);
  });
});
