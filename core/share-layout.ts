import { FormatError } from './errors.js';
import { HASH_BYTES, treeDepth, treeNodeCount } from './merkle.js';
import { blockSizeOf, segmentGeometry, type FileGeometry } from './params.js';
import { UEB_BYTES } from './ueb.js';

/**
 * Byte layout of one share (docs/format.md, "Share layout"). Policy lives
 * elsewhere; this file only says where bytes go. Every offset follows from
 * (size, k, n, segment size), so a writer can stream blocks front to back and
 * a reader can fetch one block and just the tree nodes that verify it.
 *
 *   header | blocks | block hash tree | share hash chain | crypttext hash tree | UEB
 */
export const SHARE_MAGIC = Buffer.from('FERRYSHR', 'ascii');
export const SHARE_VERSION = 1;
export const SHARE_HEADER_BYTES = 8 + 4 + 4 + 8 * 3 + 8 * 6; // 88

export interface ShareLayout {
  geometry: FileGeometry;
  blocksOffset: number;
  blockTreeOffset: number;
  shareChainOffset: number;
  crypttextTreeOffset: number;
  uebOffset: number;
  /** Total share size. */
  end: number;
  /** Nodes in each of the two segment-indexed trees (2P-1). */
  segmentTreeNodes: number;
  /** Hashes in the share hash chain (log2 of n rounded up to a power of two). */
  shareChainLength: number;
}

export function shareLayout(g: FileGeometry): ShareLayout {
  const blocksBytes = (g.numSegments - 1) * g.blockSize + g.tailBlockSize;
  const segmentTreeNodes = treeNodeCount(g.numSegments);
  const shareChainLength = treeDepth(g.n);
  const blocksOffset = SHARE_HEADER_BYTES;
  const blockTreeOffset = blocksOffset + blocksBytes;
  const shareChainOffset = blockTreeOffset + segmentTreeNodes * HASH_BYTES;
  const crypttextTreeOffset = shareChainOffset + shareChainLength * HASH_BYTES;
  const uebOffset = crypttextTreeOffset + segmentTreeNodes * HASH_BYTES;
  return {
    geometry: g,
    blocksOffset,
    blockTreeOffset,
    shareChainOffset,
    crypttextTreeOffset,
    uebOffset,
    end: uebOffset + UEB_BYTES,
    segmentTreeNodes,
    shareChainLength,
  };
}

/** The layout of a file whose segments are at most `segmentSize` (up to the 64 MiB cap rounded up to k, as readers meet it). */
export function layoutFor(size: number, k: number, n: number, segmentSize: number): ShareLayout {
  return shareLayout(segmentGeometry(size, k, n, segmentSize));
}

/** Where block i of a share lives. */
export function blockRange(l: ShareLayout, i: number): { offset: number; length: number } {
  const length = blockSizeOf(l.geometry, i); // validates i
  return { offset: l.blocksOffset + i * l.geometry.blockSize, length };
}

export function blockTreeNodeOffset(l: ShareLayout, node: number): number {
  return l.blockTreeOffset + node * HASH_BYTES;
}

export function crypttextTreeNodeOffset(l: ShareLayout, node: number): number {
  return l.crypttextTreeOffset + node * HASH_BYTES;
}

export interface ShareHeader {
  shnum: number;
  blockSize: number;
  tailBlockSize: number;
  numSegments: number;
  offsets: [blocks: number, blockTree: number, shareChain: number, crypttextTree: number, ueb: number, end: number];
}

export function encodeShareHeader(l: ShareLayout, shnum: number): Buffer {
  if (!Number.isInteger(shnum) || shnum < 0 || shnum >= l.geometry.n) {
    throw new FormatError('INVALID_SHARE_NUMBER', `share number ${shnum} out of range 0..${l.geometry.n - 1}`);
  }
  const b = Buffer.alloc(SHARE_HEADER_BYTES);
  SHARE_MAGIC.copy(b, 0);
  b.writeUInt32BE(SHARE_VERSION, 8);
  b.writeUInt32BE(shnum, 12);
  const words = [
    l.geometry.blockSize,
    l.geometry.tailBlockSize,
    l.geometry.numSegments,
    l.blocksOffset,
    l.blockTreeOffset,
    l.shareChainOffset,
    l.crypttextTreeOffset,
    l.uebOffset,
    l.end,
  ];
  words.forEach((w, i) => b.writeBigUInt64BE(BigInt(w), 16 + 8 * i));
  return b;
}

/** Parses a header and, when the expected layout is known, insists it matches it exactly. */
export function decodeShareHeader(bytes: Uint8Array, expected?: ShareLayout): ShareHeader {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < SHARE_HEADER_BYTES) throw new FormatError('CORRUPT_SHARE', `share header needs ${SHARE_HEADER_BYTES} bytes, got ${b.length}`);
  if (!b.subarray(0, 8).equals(SHARE_MAGIC)) throw new FormatError('CORRUPT_SHARE', 'share magic mismatch');
  const version = b.readUInt32BE(8);
  if (version !== SHARE_VERSION) throw new FormatError('CORRUPT_SHARE', `unsupported share version ${version}`);
  const w = (i: number) => {
    const v = b.readBigUInt64BE(16 + 8 * i);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FormatError('CORRUPT_SHARE', 'share header value too large');
    return Number(v);
  };
  const h: ShareHeader = {
    shnum: b.readUInt32BE(12),
    blockSize: w(0),
    tailBlockSize: w(1),
    numSegments: w(2),
    offsets: [w(3), w(4), w(5), w(6), w(7), w(8)],
  };
  if (expected) {
    const want = decodeShareHeader(encodeShareHeader(expected, Math.min(h.shnum, expected.geometry.n - 1)));
    if (h.shnum >= expected.geometry.n || JSON.stringify(want) !== JSON.stringify(h)) {
      throw new FormatError('CORRUPT_SHARE', 'share header does not match the layout the capability implies');
    }
  }
  return h;
}
