import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode } from '../../core/base32.js';
import { FerryError } from '../../core/errors.js';
import { fileGeometry, type EncodingParams } from '../../core/params.js';
import { formatStorageIndex, parseStorageIndex, storageIndexFromKey } from '../../core/storage-index.js';
import { decodeUeb, encodeUeb, UEB_BYTES, type Ueb } from '../../core/ueb.js';
import { blockRange, decodeShareHeader, encodeShareHeader, layoutFor, shareLayout, SHARE_HEADER_BYTES } from '../../core/share-layout.js';
import { HASH_BYTES } from '../../core/merkle.js';

const MiB = 1024 * 1024;

describe('base32 and storage index', () => {
  it('round-trips any bytes and has one text form per value', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const text = formatStorageIndex(bytes);
        expect(text).toMatch(/^[a-z2-7]{26}$/);
        expect(Buffer.from(parseStorageIndex(text))).toEqual(Buffer.from(bytes));
      }),
    );
  });

  it('matches RFC 4648 test vectors (lowercase, unpadded)', () => {
    const vectors: [string, string][] = [
      ['', ''],
      ['f', 'my'],
      ['fo', 'mzxq'],
      ['foo', 'mzxw6'],
      ['foob', 'mzxw6yq'],
      ['fooba', 'mzxw6ytb'],
      ['foobar', 'mzxw6ytboi'],
    ];
    for (const [plain, enc] of vectors) {
      expect(base32Encode(Buffer.from(plain))).toBe(enc);
      expect(Buffer.from(base32Decode(enc, plain.length, 'BAD_REQUEST', 'x')).toString()).toBe(plain);
    }
  });

  it.each([
    ['too short', 'a'.repeat(25)],
    ['too long', 'a'.repeat(27)],
    ['uppercase', 'A'.repeat(26)],
    ['padding', 'a'.repeat(24) + '=='],
    ['path traversal', '../' + 'a'.repeat(23)],
    ['digit outside alphabet', '1'.repeat(26)],
    ['non-canonical trailing bits', 'a'.repeat(25) + 'b'],
  ])('rejects a storage index that is %s', (_why, text) => {
    expect(() => parseStorageIndex(text)).toThrowError(FerryError);
    try {
      parseStorageIndex(text);
    } catch (e) {
      expect((e as FerryError).code).toBe('INVALID_STORAGE_INDEX');
    }
  });

  it('derives distinct 16-byte indexes from distinct keys', () => {
    const a = storageIndexFromKey(new Uint8Array(32));
    const b = storageIndexFromKey(new Uint8Array(32).fill(1));
    expect(a.length).toBe(16);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });
});

describe('file geometry', () => {
  const p: EncodingParams = { k: 3, n: 10, maxSegmentSize: MiB };

  it('rounds the segment size to a multiple of k and never exceeds the file', () => {
    expect(fileGeometry(10 * MiB, p).segmentSize).toBe(MiB + 2); // 1048576 -> 1048578
    expect(fileGeometry(5, p).segmentSize).toBe(6);
    expect(fileGeometry(0, p)).toMatchObject({ numSegments: 1, tailSegmentSize: 0, tailBlockSize: 0 });
  });

  it('covers every byte exactly once with k-divisible padded segments', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 * MiB }), fc.integer({ min: 1, max: 256 }), fc.integer({ min: 1, max: 4 * MiB }), (size, k, seg) => {
        const g = fileGeometry(size, { k, n: 256, maxSegmentSize: seg });
        expect(g.segmentSize % k).toBe(0);
        expect((g.numSegments - 1) * g.segmentSize + g.tailSegmentSize).toBe(size);
        expect(g.tailPaddedSize % k).toBe(0);
        expect(g.tailPaddedSize - g.tailSegmentSize).toBeLessThan(k);
        if (size > 0) expect(g.tailSegmentSize).toBeGreaterThan(0);
      }),
    );
  });

  it('rejects k > n, n > 256 and bad segment sizes', () => {
    expect(() => fileGeometry(1, { k: 4, n: 3, maxSegmentSize: MiB })).toThrow(/k <= n/);
    expect(() => fileGeometry(1, { k: 1, n: 257, maxSegmentSize: MiB })).toThrow(/256/);
    expect(() => fileGeometry(1, { k: 1, n: 2, maxSegmentSize: 0 })).toThrow(/segment size/);
    expect(() => fileGeometry(-1, p)).toThrow(/size/);
  });
});

describe('UEB', () => {
  const ueb = (size: number, seg = MiB, k = 3, n = 10): Ueb => {
    const g = fileGeometry(size, { k, n, maxSegmentSize: seg });
    return { k, n, size, segmentSize: g.segmentSize, numSegments: g.numSegments, crypttextRoot: new Uint8Array(32).fill(7), shareRoot: new Uint8Array(32).fill(9) };
  };

  it('round-trips and is fixed-size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 45 }), fc.integer({ min: 1, max: 10 }), (size, k) => {
        const u = ueb(size, MiB, k, 10);
        const bytes = encodeUeb(u);
        expect(bytes.length).toBe(UEB_BYTES);
        expect(decodeUeb(bytes)).toEqual(u);
      }),
    );
  });

  it('rejects inconsistent geometry, bad magic and wrong length', () => {
    const good = encodeUeb(ueb(5 * MiB));
    const badSeg = Buffer.from(good);
    badSeg.writeBigUInt64BE(5n, 22); // segment size 5 is not a multiple of k=3
    expect(() => decodeUeb(badSeg)).toThrow(/inconsistent/);
    const badMagic = Buffer.from(good);
    badMagic[0] ^= 1;
    expect(() => decodeUeb(badMagic)).toThrow(/magic/);
    expect(() => decodeUeb(good.subarray(1))).toThrow(/102 bytes/);
  });
});

describe('share layout', () => {
  const k = 3;
  const n = 10;
  const seg = MiB;
  const cases = [0, 1, k - 1, seg - 1, seg, seg + 1, 3 * seg + 5, 5 * 2 ** 30, 2 ** 40 + 17];

  it.each(cases)('offsets for size %i are consistent and computed, not written', (size) => {
    const l = layoutFor(size, k, n, seg);
    const g = l.geometry;
    expect(l.blocksOffset).toBe(SHARE_HEADER_BYTES);
    const last = blockRange(l, g.numSegments - 1);
    expect(last.offset + last.length).toBe(l.blockTreeOffset);
    expect(l.shareChainOffset - l.blockTreeOffset).toBe(l.segmentTreeNodes * HASH_BYTES);
    expect(l.crypttextTreeOffset - l.shareChainOffset).toBe(4 * HASH_BYTES); // n=10 -> 16 leaves -> 4 uncles
    expect(l.end - l.uebOffset).toBe(UEB_BYTES);
    // Blocks are (size padded to k) / k bytes in total: a share is ~1/k of the file plus trees.
    const blockBytes = l.blockTreeOffset - l.blocksOffset;
    expect(blockBytes).toBe((g.numSegments - 1) * g.blockSize + g.tailBlockSize);
    expect(blockBytes * k).toBeGreaterThanOrEqual(size);
    expect(blockBytes * k - size).toBeLessThan(k);
    if (size > 2 ** 32) expect(l.end).toBeGreaterThan(2 ** 32 / k);
  });

  it('header round-trips and rejects a header from another layout', () => {
    const l = shareLayout(fileGeometry(5 * 2 ** 30, { k, n, maxSegmentSize: seg }));
    const h = encodeShareHeader(l, 7);
    const parsed = decodeShareHeader(h, l);
    expect(parsed.shnum).toBe(7);
    // format.md section 9: after magic, u32 version and u32 share number, every field is a u64 big-endian.
    expect([h.subarray(0, 8).toString('ascii'), h.readUInt32BE(8), h.readUInt32BE(12)]).toEqual(['FERRYSHR', 1, 7]);
    const words = Array.from({ length: 9 }, (_, i) => Number(h.readBigUInt64BE(16 + 8 * i)));
    expect(words).toEqual([l.geometry.blockSize, l.geometry.tailBlockSize, l.geometry.numSegments, 88, l.blockTreeOffset, l.shareChainOffset, l.crypttextTreeOffset, l.uebOffset, l.end]);
    expect(parsed.offsets[5]).toBe(l.end);
    const other = shareLayout(fileGeometry(5 * 2 ** 30 + 3, { k, n, maxSegmentSize: seg }));
    expect(() => decodeShareHeader(h, other)).toThrow(/does not match/);
    expect(() => encodeShareHeader(l, 10)).toThrow(/out of range/);
  });
});
