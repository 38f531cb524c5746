import { FormatError, IntegrityError } from './errors.js';
import { TAGS, taggedHash } from './tagged-hash.js';

export const HASH_BYTES = 32;

/**
 * Complete binary Merkle trees in heap order, as Tahoe's hashtree.py:
 * node 0 is the root, node i has children 2i+1 and 2i+2, and the P leaves
 * (P = leaf count rounded up to a power of two) are nodes P-1 .. 2P-2.
 * Missing leaves are filled with taggedHash(merkle-empty-leaf, u64be(i)),
 * interior nodes are taggedHash(merkle-node, left || right).
 */
export function paddedLeafCount(leaves: number): number {
  if (!Number.isSafeInteger(leaves) || leaves < 1) throw new FormatError('INVALID_PARAMETERS', `a tree needs at least one leaf, got ${leaves}`);
  let p = 1;
  while (p < leaves) p *= 2;
  return p;
}

export function treeNodeCount(leaves: number): number {
  return 2 * paddedLeafCount(leaves) - 1;
}

/** Depth = number of uncles on a leaf's path to the root. */
export function treeDepth(leaves: number): number {
  return Math.log2(paddedLeafCount(leaves));
}

export function emptyLeafHash(i: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(i));
  return taggedHash(TAGS.merklePad, b);
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return taggedHash(TAGS.merkleNode, left, right);
}

export class MerkleTree {
  /** All 2P-1 nodes in heap order. */
  readonly nodes: Buffer[];
  readonly leafCount: number;

  constructor(leaves: Uint8Array[]) {
    const p = paddedLeafCount(leaves.length);
    const nodes = new Array<Buffer>(2 * p - 1);
    for (let i = 0; i < p; i++) {
      const leaf = leaves[i];
      if (leaf !== undefined && leaf.length !== HASH_BYTES) throw new FormatError('INVALID_PARAMETERS', `leaf ${i} is not a 32-byte hash`);
      nodes[p - 1 + i] = leaf === undefined ? emptyLeafHash(i) : Buffer.from(leaf);
    }
    for (let i = p - 2; i >= 0; i--) nodes[i] = nodeHash(nodes[2 * i + 1], nodes[2 * i + 2]);
    this.nodes = nodes;
    this.leafCount = leaves.length;
  }

  get root(): Buffer {
    return this.nodes[0];
  }

  /** The uncle hashes of leaf i, bottom-up. */
  proof(i: number): Buffer[] {
    return uncleIndices(this.leafCount, i).map((n) => this.nodes[n]);
  }

  /** All nodes concatenated, as stored in a share. */
  serialize(): Buffer {
    return Buffer.concat(this.nodes);
  }
}

/** Heap indices of the uncles of leaf i, bottom-up: the nodes a verifier must fetch. */
export function uncleIndices(leafCount: number, i: number): number[] {
  const p = paddedLeafCount(leafCount);
  if (!Number.isInteger(i) || i < 0 || i >= leafCount) throw new FormatError('INVALID_PARAMETERS', `leaf ${i} out of range 0..${leafCount - 1}`);
  const out: number[] = [];
  for (let n = p - 1 + i; n > 0; n = (n - 1) >> 1) out.push(n % 2 === 1 ? n + 1 : n - 1);
  return out;
}

/** Root implied by a leaf hash and its uncles. */
export function rootFromProof(leafCount: number, i: number, leaf: Uint8Array, uncles: Uint8Array[]): Buffer {
  const p = paddedLeafCount(leafCount);
  if (uncles.length !== Math.log2(p)) throw new IntegrityError(`proof for leaf ${i} has ${uncles.length} hashes, expected ${Math.log2(p)}`);
  let h: Buffer = Buffer.from(leaf);
  let n = p - 1 + i;
  for (const u of uncles) {
    h = n % 2 === 1 ? nodeHash(h, u) : nodeHash(u, h);
    n = (n - 1) >> 1;
  }
  return h;
}

export function verifyProof(root: Uint8Array, leafCount: number, i: number, leaf: Uint8Array, uncles: Uint8Array[]): boolean {
  try {
    return rootFromProof(leafCount, i, leaf, uncles).equals(root);
  } catch {
    return false;
  }
}

export function splitHashes(bytes: Uint8Array): Buffer[] {
  if (bytes.length % HASH_BYTES !== 0) throw new FormatError('INVALID_PARAMETERS', 'hash list length is not a multiple of 32');
  const out: Buffer[] = [];
  for (let o = 0; o < bytes.length; o += HASH_BYTES) out.push(Buffer.from(bytes.subarray(o, o + HASH_BYTES)));
  return out;
}
