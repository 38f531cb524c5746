/**
 * Checking a hash tree stored in a share without holding it in memory
 * (docs/format.md section 7: heap order, node 0 the root, level d holding
 * nodes 2^d-1 .. 2^(d+1)-2). Every level is read in windows; each window of
 * children is hashed pairwise and compared with the matching window of
 * parents one level up, so memory stays at two windows whatever the tree.
 */
import { IntegrityError } from '../../core/errors.js';
import { emptyLeafHash, HASH_BYTES, nodeHash, paddedLeafCount } from '../../core/merkle.js';

/** Reads nodes [first, end) of a stored tree. */
export type NodeReader = (first: number, end: number) => Promise<Uint8Array>;

export const DEFAULT_WINDOW_NODES = 64 * 1024; // 2 MiB of hashes

/**
 * Throws IntegrityError unless node 0 equals `root`, every interior node is
 * the hash of its two children and every padding leaf (positions
 * leafCount..P-1) has its defined value. The real leaves are not judged here:
 * a caller that knows them compares them itself.
 */
export async function verifyStoredTree(read: NodeReader, leafCount: number, root: Uint8Array, what: string, windowNodes = DEFAULT_WINDOW_NODES): Promise<void> {
  const p = paddedLeafCount(leafCount);
  const w = Math.max(2, windowNodes - (windowNodes % 2));
  const top = Buffer.from(await read(0, 1));
  if (!top.equals(root)) throw new IntegrityError(`${what}: root differs from the one the file commits to`);
  if (p === 1) return;
  for (let width = p; width >= 2; width /= 2) {
    const base = width - 1;
    const parentBase = width / 2 - 1;
    for (let o = 0; o < width; o += w) {
      const e = Math.min(width, o + w);
      const [kids, parents] = await Promise.all([read(base + o, base + e), read(parentBase + o / 2, parentBase + e / 2)]);
      const node = (bytes: Uint8Array, i: number) => bytes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES);
      if (width === p) {
        for (let i = Math.max(o, leafCount); i < e; i++) {
          if (!emptyLeafHash(i).equals(node(kids, i - o))) throw new IntegrityError(`${what}: padding leaf ${i} is wrong`);
        }
      }
      for (let j = o; j < e; j += 2) {
        if (!nodeHash(node(kids, j - o), node(kids, j - o + 1)).equals(node(parents, (j - o) / 2))) {
          throw new IntegrityError(`${what}: node ${parentBase + j / 2} is not the hash of its children`);
        }
      }
    }
  }
}
