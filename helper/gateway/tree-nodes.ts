/**
 * Fetching just the hash-tree nodes a verifier needs, and the byte-range
 * arithmetic shared by the share reader and the crypttext node store: wanted
 * pieces of a share are merged into few Range requests (helper/grid/io.ts
 * fetchMerged), and the requests run concurrently.
 */
import { HASH_BYTES, uncleIndices } from '../../core/merkle.js';
import { fetchMerged } from '../grid/io.js';

/** A piece of a share the caller wants, handed its bytes once read. */
export interface Want {
  start: number;
  end: number;
  take(bytes: Uint8Array): void;
}

/** Segments whose proofs one fetch brings in at most (sequential reads then need a hash request every this many blocks). */
export const PROOF_WINDOW = 32;

/** Nodes one window's proofs can need at most: about 2 per leaf, plus one per level of the tree. */
export const WINDOW_NODES = 2 * PROOF_WINDOW + 64;

/** Reads all wants with as few range requests as the grid's merge gap allows, in parallel. */
export async function fetchWants(wants: Want[], read: (start: number, end: number) => Promise<Uint8Array>): Promise<void> {
  if (wants.length === 0) return;
  const parts = await fetchMerged(wants, read);
  wants.forEach((w, i) => w.take(parts[i]));
}

/** Union of the uncle chains of leaves first..last (inclusive), ascending. */
export function unclesOfLeaves(leafCount: number, first: number, last: number): number[] {
  const set = new Set<number>();
  for (let i = first; i <= last; i++) for (const n of uncleIndices(leafCount, i)) set.add(n);
  return [...set].sort((a, b) => a - b);
}

/**
 * Hash-tree nodes read from one source, by heap index. Bounded (see
 * reserve()): when full it keeps only the top of the tree, which every proof
 * uses, and forgets the rest.
 * Nodes are copied out of the read buffers so that they never pin a block.
 */
export const NODE_CACHE = {
  /** Nodes kept per share (and for the crypttext tree): 128 KiB. Tests lower it to exercise forgetting. */
  limit: 4096,
};

export class NodeCache {
  private readonly nodes = new Map<number, Buffer>();

  constructor(private readonly max = NODE_CACHE.limit) {}

  get(i: number): Buffer | undefined {
    return this.nodes.get(i);
  }

  missing(indices: readonly number[]): number[] {
    return indices.filter((i) => !this.nodes.has(i));
  }

  /**
   * Makes room for `count` more nodes: when full, keeps only the top of the
   * tree. Called before working out what to fetch, so that nodes a proof is
   * about to use are never evicted under it.
   */
  reserve(count: number): void {
    if (this.nodes.size + count <= this.max) return;
    for (const k of this.nodes.keys()) if (k >= 63) this.nodes.delete(k);
  }

  /** Stores consecutive nodes first, first+1, … read as one run of bytes. */
  putRun(first: number, bytes: Uint8Array): void {
    for (let o = 0, i = first; o + HASH_BYTES <= bytes.length; o += HASH_BYTES, i++) this.nodes.set(i, Buffer.from(bytes.subarray(o, o + HASH_BYTES)));
  }

  /** The nodes at `indices`; all must be present. */
  pick(indices: readonly number[]): Buffer[] {
    return indices.map((i) => {
      const n = this.nodes.get(i);
      if (!n) throw new Error(`hash node ${i} not fetched`);
      return n;
    });
  }

  clear(): void {
    this.nodes.clear();
  }
}

/** Wants for the given nodes of a tree stored at `base`: runs of consecutive indices become one want each. */
export function nodeWants(base: number, indices: readonly number[], cache: NodeCache): Want[] {
  const wants: Want[] = [];
  const sorted = [...indices].sort((a, b) => a - b);
  for (let j = 0; j < sorted.length; ) {
    let k = j;
    while (k + 1 < sorted.length && sorted[k + 1] === sorted[k] + 1) k++;
    const first = sorted[j];
    const count = k - j + 1;
    wants.push({ start: base + first * HASH_BYTES, end: base + (first + count) * HASH_BYTES, take: (b) => cache.putRun(first, b) });
    j = k + 1;
  }
  return wants;
}
