import { FormatError } from './errors.js';
import { MerkleTree } from './merkle.js';
import { blockSizeOf, segmentRange, type FileGeometry } from './params.js';
import { encodeShareHeader, type ShareLayout } from './share-layout.js';
import { framedBuffer, framedDigest, frameLength, TAGS, taggedHash } from './tagged-hash.js';
import { encodeUeb, uebHash } from './ueb.js';

export function crypttextSegmentHash(segment: Uint8Array): Buffer {
  return taggedHash(TAGS.crypttextSegment, segment);
}

export function blockHash(block: Uint8Array): Buffer {
  return taggedHash(TAGS.block, block);
}

/**
 * Block hashes computed by WebCrypto, which runs on the libuv thread pool:
 * the same values as {@link blockHash}, without blocking the event loop.
 */
export async function blockHashesAsync(blocks: Uint8Array[]): Promise<Buffer[]> {
  return Promise.all(
    blocks.map((b) => {
      const buf = framedBuffer(TAGS.block, b.length);
      buf.set(b, frameLength(TAGS.block));
      return framedDigest(buf);
    }),
  );
}

/**
 * Cuts ciphertext segment i into the k primary blocks the codec takes: the
 * tail segment is zero-padded to a multiple of k first. Blocks are views into
 * `scratch` (reused across calls) or into the input when no padding is needed.
 */
export function splitSegment(g: FileGeometry, i: number, segment: Uint8Array, scratch?: Uint8Array): Uint8Array[] {
  const { start, end } = segmentRange(g, i);
  if (segment.length !== end - start) throw new FormatError('INVALID_PARAMETERS', `segment ${i} must be ${end - start} bytes, got ${segment.length}`);
  const bs = blockSizeOf(g, i);
  let padded = segment;
  if (bs * g.k !== segment.length) {
    padded = scratch && scratch.length >= bs * g.k ? scratch.subarray(0, bs * g.k) : new Uint8Array(bs * g.k);
    padded.set(segment);
    padded.fill(0, segment.length);
  }
  const blocks: Uint8Array[] = [];
  for (let j = 0; j < g.k; j++) blocks.push(padded.subarray(j * bs, (j + 1) * bs));
  return blocks;
}

export interface EncodedFile {
  ueb: Buffer;
  uebHash: Buffer;
  crypttextRoot: Buffer;
  shareRoot: Buffer;
  /** Per share: header (written first) and trailer (written at layout.blockTreeOffset). */
  headers: Buffer[];
  trailers: Buffer[];
}

/**
 * Collects the hashes of blocks as segments are encoded, then builds the
 * trees and the UEB. Holds 32 bytes per block, never block data.
 */
export class ShareSetBuilder {
  readonly blockHashes: Buffer[][];
  readonly crypttextHashes: Buffer[];

  constructor(readonly layout: ShareLayout) {
    const g = layout.geometry;
    this.blockHashes = Array.from({ length: g.n }, () => new Array<Buffer>(g.numSegments));
    this.crypttextHashes = new Array<Buffer>(g.numSegments);
  }

  addSegment(i: number, crypttextHash: Uint8Array, shareBlocks: Uint8Array[]): void {
    const g = this.layout.geometry;
    if (shareBlocks.length !== g.n) throw new FormatError('INVALID_PARAMETERS', `segment ${i}: need ${g.n} share blocks, got ${shareBlocks.length}`);
    const bs = blockSizeOf(g, i);
    this.crypttextHashes[i] = Buffer.from(crypttextHash);
    shareBlocks.forEach((b, s) => {
      if (b.length !== bs) throw new FormatError('INVALID_PARAMETERS', `segment ${i} share ${s}: block must be ${bs} bytes`);
      this.blockHashes[s][i] = blockHash(b);
    });
  }

  /** Restores the hashes of a segment encoded before a restart. */
  restoreSegment(i: number, crypttextHash: Uint8Array, blockHashes: Uint8Array[]): void {
    this.crypttextHashes[i] = Buffer.from(crypttextHash);
    blockHashes.forEach((h, s) => (this.blockHashes[s][i] = Buffer.from(h)));
  }

  finish(): EncodedFile {
    const g = this.layout.geometry;
    for (let i = 0; i < g.numSegments; i++) {
      if (!this.crypttextHashes[i]) throw new FormatError('INVALID_PARAMETERS', `segment ${i} was never added`);
    }
    const blockTrees = this.blockHashes.map((hs) => new MerkleTree(hs));
    const shareTree = new MerkleTree(blockTrees.map((t) => t.root));
    const crypttextTree = new MerkleTree(this.crypttextHashes);
    const ueb = encodeUeb({
      k: g.k,
      n: g.n,
      size: g.size,
      segmentSize: g.segmentSize,
      numSegments: g.numSegments,
      crypttextRoot: crypttextTree.root,
      shareRoot: shareTree.root,
    });
    const crypttextBytes = crypttextTree.serialize();
    const trailers = blockTrees.map((t, s) => Buffer.concat([t.serialize(), ...shareTree.proof(s), crypttextBytes, ueb]));
    const headers = blockTrees.map((_, s) => encodeShareHeader(this.layout, s));
    return { ueb, uebHash: uebHash(ueb), crypttextRoot: crypttextTree.root, shareRoot: shareTree.root, headers, trailers };
  }
}
