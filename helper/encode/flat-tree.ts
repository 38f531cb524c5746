/**
 * Merkle trees (core/merkle.ts's, node for node) in one flat buffer of
 * 32-byte nodes in heap order: a Buffer object per node costs more than
 * the node itself, and a tree of a million leaves must not hold the event
 * loop while it is hashed.
 */
import { emptyLeafHash, HASH_BYTES, nodeHash, paddedLeafCount } from '../../core/merkle.js';

/** Hashes computed between two turns of the event loop. */
const HASHES_PER_TURN = 4096;

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Bytes of the flat tree over `leafCount` leaves. */
export function flatTreeBytes(leafCount: number): number {
  return (2 * paddedLeafCount(leafCount) - 1) * HASH_BYTES;
}

/**
 * Completes a flat tree whose first `leafCount` leaves are already in place
 * (at node P-1 onwards): pads the missing leaves and hashes every interior node.
 */
export async function completeFlatTree(nodes: Uint8Array, leafCount: number): Promise<void> {
  const p = paddedLeafCount(leafCount);
  if (nodes.length !== (2 * p - 1) * HASH_BYTES) throw new RangeError(`a tree of ${leafCount} leaves needs ${(2 * p - 1) * HASH_BYTES} bytes, got ${nodes.length}`);
  const node = (i: number) => nodes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES);
  let done = 0;
  for (let i = leafCount; i < p; i++) {
    nodes.set(emptyLeafHash(i), (p - 1 + i) * HASH_BYTES);
    if (++done % HASHES_PER_TURN === 0) await turn();
  }
  for (let i = p - 2; i >= 0; i--) {
    nodes.set(nodeHash(node(2 * i + 1), node(2 * i + 2)), i * HASH_BYTES);
    if (++done % HASHES_PER_TURN === 0) await turn();
  }
}

/** The flat tree over `leaves` (leafCount × 32 bytes). */
export async function flatTree(leaves: Uint8Array): Promise<Buffer> {
  const leafCount = leaves.length / HASH_BYTES;
  const nodes = Buffer.allocUnsafe(flatTreeBytes(leafCount));
  nodes.set(leaves, (paddedLeafCount(leafCount) - 1) * HASH_BYTES);
  await completeFlatTree(nodes, leafCount);
  return nodes;
}
