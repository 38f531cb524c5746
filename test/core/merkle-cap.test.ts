import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { etagOf, formatReadCap, formatVerifyCap, parseCapability, parseReadCap, toVerifyCap, verifyCapOf, type ReadCap } from '../../core/capability.js';
import { MerkleTree, rootFromProof, uncleIndices, verifyProof } from '../../core/merkle.js';
import { formatStorageIndex, storageIndexFromKey } from '../../core/storage-index.js';
import { TAGS, taggedHash } from '../../core/tagged-hash.js';

const hash = () => randomBytes(32);

describe('merkle trees', () => {
  it('every leaf verifies with its uncle chain; any flipped byte of leaf or uncle fails', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.nat(), fc.nat(), (count, pick, flip) => {
        const leaves = Array.from({ length: count }, hash);
        const t = new MerkleTree(leaves);
        const i = pick % count;
        const proof = t.proof(i);
        expect(verifyProof(t.root, count, i, leaves[i], proof)).toBe(true);
        const badLeaf = Buffer.from(leaves[i]);
        badLeaf[flip % 32] ^= 1 << (flip % 8);
        expect(verifyProof(t.root, count, i, badLeaf, proof)).toBe(false);
        if (proof.length) {
          const bad = proof.map((p) => Buffer.from(p));
          bad[flip % bad.length][flip % 32] ^= 1;
          expect(verifyProof(t.root, count, i, leaves[i], bad)).toBe(false);
        }
        // A leaf proven at another position fails (positions are bound).
        if (count > 1) expect(verifyProof(t.root, count, (i + 1) % count, leaves[i], proof)).toBe(false);
      }),
    );
  });

  it('uncle indices address the stored node array', () => {
    const leaves = Array.from({ length: 5 }, hash);
    const t = new MerkleTree(leaves);
    expect(uncleIndices(5, 0)).toEqual([8, 4, 2]);
    expect(t.nodes.length).toBe(15);
    expect(rootFromProof(5, 3, leaves[3], uncleIndices(5, 3).map((n) => t.nodes[n]))).toEqual(t.root);
  });

  it('a padding leaf hashes its 0-based leaf index, not its heap node index (format.md section 7)', () => {
    const t = new MerkleTree(Array.from({ length: 7 }, hash));
    const seven = Buffer.alloc(8);
    seven.writeBigUInt64BE(7n);
    expect(t.nodes[14]).toEqual(taggedHash(TAGS.merklePad, seven));
    expect(t.nodes[6]).toEqual(taggedHash(TAGS.merkleNode, t.nodes[13], t.nodes[14]));
    expect(new MerkleTree([Buffer.alloc(32, 9)]).root).toEqual(Buffer.alloc(32, 9)); // one leaf: the root is the leaf
  });

  it('pads with position-specific empty leaves (a tree of 3 differs from 3 plus a zero hash)', () => {
    const leaves = Array.from({ length: 3 }, hash);
    expect(new MerkleTree(leaves).root).not.toEqual(new MerkleTree([...leaves, Buffer.alloc(32)]).root);
  });
});

describe('capabilities', () => {
  const arbCap = fc.record({
    key: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    uebHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    n: fc.integer({ min: 1, max: 256 }),
    size: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  });

  it('read and verify caps round-trip and are URL-safe', () => {
    fc.assert(
      fc.property(arbCap, fc.nat(), ({ key, uebHash, n, size }, kk) => {
        const k = 1 + (kk % n);
        const text = formatReadCap({ key, uebHash, k, n, size });
        expect(text).toMatch(/^ferry-chk:[a-z2-7]{52}:[a-z2-7]{52}:\d+:\d+:\d+$/);
        expect(encodeURIComponent(text).replaceAll('%3A', ':')).toBe(text);
        const rc = parseReadCap(text);
        expect(formatReadCap(rc)).toBe(text);
        const vc = verifyCapOf(rc);
        const vtext = formatVerifyCap(vc);
        expect(vtext.startsWith(`ferry-chk-verify:${formatStorageIndex(storageIndexFromKey(key))}:`)).toBe(true);
        expect(toVerifyCap(vtext)).toEqual(vc);
        expect(toVerifyCap(text)).toEqual(vc);
        expect(etagOf(vc)).toMatch(/^"[0-9a-f]{32}"$/);
      }),
    );
  });

  const good = formatReadCap({ key: new Uint8Array(32), uebHash: new Uint8Array(32).fill(1), k: 3, n: 10, size: 1000 });
  const fields = good.split(':');
  const variant = (i: number, v: string) => fields.map((f, j) => (j === i ? v : f)).join(':');
  // The same bytes with an unused trailing bit set: decodes to the same key, but is not the canonical spelling.
  const B32 = 'abcdefghijklmnopqrstuvwxyz234567';
  const nonCanonical = (t: string) => t.slice(0, -1) + B32[B32.indexOf(t.at(-1)!) | 1];
  const vfields = formatVerifyCap(verifyCapOf(parseReadCap(good))).split(':');

  it.each([
    ['wrong prefix', variant(0, 'URI'), /must start with/],
    ['too few fields', fields.slice(0, 5).join(':'), /6 ':'-separated/],
    ['short key', variant(1, fields[1].slice(1)), /key must be 52/],
    ['uppercase hash', variant(2, fields[2].toUpperCase()), /invalid character/],
    ['k > n', variant(3, '11'), /exceeds n/],
    ['leading zero', variant(5, '01000'), /leading zeros/],
    ['n = 0', variant(4, '0'), /out of range/],
    ['n > 256', variant(4, '300'), /out of range/],
    ['not a number', variant(5, '1e3'), /decimal/],
    ['a slash', variant(5, '10/0'), /decimal/],
    ['a non-canonical key', variant(1, nonCanonical(fields[1])), /not canonical/],
    ['a non-canonical UEB hash', variant(2, nonCanonical(fields[2])), /not canonical/],
    ['a non-canonical storage index', vfields.map((f, j) => (j === 1 ? nonCanonical(f) : f)).join(':'), /not canonical/],
  ])('rejects a capability with %s', (_what, text, message) => {
    expect(() => parseCapability(text)).toThrow(message);
  });

  it('refuses a verify-cap where a read-cap is needed', () => {
    const rc = parseCapability(good) as ReadCap;
    expect(() => parseReadCap(formatVerifyCap(verifyCapOf(rc)))).toThrow(/cannot decrypt/);
  });
});
