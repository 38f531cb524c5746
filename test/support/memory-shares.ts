import { createHash } from 'node:crypto';
import { ErasureCodec } from '../../core/erasure/index.js';
import { segmentRange, type FileGeometry } from '../../core/params.js';
import { crypttextSegmentHash, ShareSetBuilder, splitSegment, type EncodedFile } from '../../core/share-builder.js';
import { blockRange, encodeShareHeader, shareLayout, type ShareLayout } from '../../core/share-layout.js';

type Encoded = EncodedFile & { layout: ShareLayout };

/**
 * Encodes a ciphertext segment by segment, as the helper does, handing each segment's n blocks to `onBlocks`.
 * `claimed`: another ciphertext of the same size whose segment hashes go into the crypttext tree (a lying uploader).
 */
function encodeSegments(ct: Uint8Array, g: FileGeometry, onBlocks: (segment: number, blocks: Uint8Array[]) => void, claimed?: Uint8Array): Encoded {
  const layout = shareLayout(g);
  const builder = new ShareSetBuilder(layout);
  const codec = new ErasureCodec(g.k, g.n);
  for (let i = 0; i < g.numSegments; i++) {
    const { start, end } = segmentRange(g, i);
    const segment = ct.subarray(start, end);
    const blocks = codec.encode(splitSegment(g, i, segment));
    builder.addSegment(i, crypttextSegmentHash((claimed ?? ct).subarray(start, end)), blocks);
    onBlocks(i, blocks);
  }
  return { layout, ...builder.finish() };
}

/**
 * The n complete shares of a ciphertext, in memory (small files). With `claimed`, every block, block tree
 * and the share tree are `ct`'s, but the crypttext tree (and so the UEB and its hash) commit to `claimed`.
 */
export function encodeInMemory(ct: Uint8Array, g: FileGeometry, claimed?: Uint8Array): Encoded & { shares: Buffer[] } {
  const layout = shareLayout(g);
  const shares = Array.from({ length: g.n }, () => Buffer.alloc(layout.end));
  const out = encodeSegments(ct, g, (i, blocks) => {
    const { offset } = blockRange(layout, i);
    blocks.forEach((b, s) => shares[s].set(b, offset));
  }, claimed);
  shares.forEach((sh, s) => {
    sh.set(out.headers[s], 0);
    sh.set(out.trailers[s], layout.blockTreeOffset);
  });
  return { ...out, shares };
}

/** SHA-256 (hex) of each of the n shares, holding one segment at a time: header, blocks, then the trailer. */
export function shareDigests(ct: Uint8Array, g: FileGeometry): Encoded & { digests: string[] } {
  const layout = shareLayout(g);
  const hashes = Array.from({ length: g.n }, (_, s) => createHash('sha256').update(encodeShareHeader(layout, s)));
  const out = encodeSegments(ct, g, (_i, blocks) => blocks.forEach((b, s) => hashes[s].update(b)));
  return { ...out, digests: hashes.map((h, s) => h.update(out.trailers[s]).digest('hex')) };
}
