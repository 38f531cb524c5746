import { IntegrityError } from './errors.js';
import { HASH_BYTES, rootFromProof, uncleIndices } from './merkle.js';
import { blockHash, crypttextSegmentHash } from './share-builder.js';
import { shareLayout, type ShareLayout } from './share-layout.js';
import { decodeUeb, uebGeometry, uebHash, type Ueb } from './ueb.js';

/** Checks UEB bytes against the hash a capability carries, then parses them. */
export function verifyUeb(uebBytes: Uint8Array, expectedHash: Uint8Array): { ueb: Ueb; layout: ShareLayout } {
  if (!uebHash(uebBytes).equals(expectedHash)) throw new IntegrityError('UEB does not match the capability');
  const ueb = decodeUeb(uebBytes);
  return { ueb, layout: shareLayout(uebGeometry(ueb)) };
}

/** Heap indices of the block-tree nodes needed to verify block i (its uncles). */
export function blockProofNodes(layout: ShareLayout, segment: number): number[] {
  return uncleIndices(layout.geometry.numSegments, segment);
}

/**
 * Verifies one share's blocks against a trusted UEB. The share's block tree
 * root is accepted only after its share-hash-chain leads to the UEB's share
 * root; every block is then checked against that root.
 */
export class ShareVerifier {
  private blockRoot: Buffer | undefined;

  constructor(
    readonly ueb: Ueb,
    readonly layout: ShareLayout,
    readonly shnum: number,
  ) {}

  acceptBlockTreeRoot(root: Uint8Array, chain: Uint8Array[]): void {
    const got = rootFromProof(this.ueb.n, this.shnum, root, chain);
    if (!got.equals(this.ueb.shareRoot)) throw new IntegrityError(`share ${this.shnum}: block tree root not in the share hash tree`, { shnum: this.shnum });
    this.blockRoot = Buffer.from(root);
  }

  verifyBlock(segment: number, block: Uint8Array, uncles: Uint8Array[]): void {
    if (!this.blockRoot) throw new IntegrityError('block tree root not yet verified');
    const got = rootFromProof(this.layout.geometry.numSegments, segment, blockHash(block), uncles);
    if (!got.equals(this.blockRoot)) throw new IntegrityError(`share ${this.shnum}: block ${segment} fails its hash`, { shnum: this.shnum, segment });
  }
}

/** Checks a decoded (unpadded) ciphertext segment against the UEB's crypttext root. */
export function verifySegment(ueb: Ueb, segment: number, ciphertext: Uint8Array, uncles: Uint8Array[]): void {
  const got = rootFromProof(ueb.numSegments, segment, crypttextSegmentHash(ciphertext), uncles);
  if (!got.equals(ueb.crypttextRoot)) throw new IntegrityError(`segment ${segment} fails the crypttext hash`, { segment });
}

/** Splits a run of concatenated 32-byte hashes. */
export function hashesAt(bytes: Uint8Array, count: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) out.push(Buffer.from(bytes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)));
  return out;
}
