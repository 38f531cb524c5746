import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntegrityError } from '../../core/errors.js';
import { fileGeometry } from '../../core/params.js';
import { verifyShareBytes } from '../../core/share-check.js';
import { encodeInMemory } from '../support/memory-shares.js';

/** Encodes a ciphertext into n complete shares in memory, front to back as the helper does. */
function encode(ct: Uint8Array, k: number, n: number, seg: number) {
  return encodeInMemory(ct, fileGeometry(ct.length, { k, n, maxSegmentSize: seg }));
}

describe('share building and verification', () => {
  it('every share of any file verifies against the UEB hash; the header and trailer fill the layout exactly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 700 }), (size, k, extra, seg) => {
        const n = k + extra;
        const enc = encode(randomBytes(size), k, n, seg);
        expect(enc.trailers[0].length).toBe(enc.layout.end - enc.layout.blockTreeOffset);
        enc.shares.forEach((sh, s) => verifyShareBytes(sh, enc.uebHash, s));
      }),
      { numRuns: 60 },
    );
  });

  it('detects any single flipped byte anywhere in a share: blocks, trees, chain, header or UEB', () => {
    const enc = encode(randomBytes(5000), 3, 10, 600);
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
    const enc = encode(randomBytes(2000), 3, 10, 600);
    const other = encode(randomBytes(2000), 3, 10, 600);
    expect(() => verifyShareBytes(enc.shares[1], enc.uebHash, 2)).toThrow(IntegrityError);
    expect(() => verifyShareBytes(enc.shares[1], other.uebHash, 1)).toThrow(/UEB does not match/);
  });
});
