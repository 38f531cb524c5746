/**
 * Verifying one stored copy of a share against the capability, without the
 * read key (docs/format.md sections 7-9). Two depths:
 *
 *  - cheap: header, size, UEB and the block-tree root with its share hash
 *    chain (which must lead to the UEB's share root): a few small reads.
 *  - full: every byte. Small shares are read whole and checked with core's
 *    verifyShareBytes; larger ones are streamed: both stored trees are
 *    checked level by level (tree-check.ts) and the blocks are read in
 *    windows of a few MiB, each block hashed and compared with its leaf.
 *    Memory stays at a window or two whatever the share size.
 */
import { IntegrityError } from '../../core/errors.js';
import { HASH_BYTES, paddedLeafCount } from '../../core/merkle.js';
import { blockSizeOf, type FileGeometry } from '../../core/params.js';
import { blockHashesAsync } from '../../core/share-builder.js';
import { verifyShareBytes } from '../../core/share-check.js';
import { blockRange, encodeShareHeader, SHARE_HEADER_BYTES, type ShareLayout } from '../../core/share-layout.js';
import { hashesAt, ShareVerifier } from '../../core/share-verify.js';
import { UEB_BYTES } from '../../core/ueb.js';
import type { ShareCopy } from '../grid/grid.js';
import { readExact, readPieces, readUpTo, type GridIo } from '../grid/io.js';
import type { FileShape } from '../grid/open-file.js';
import { verifyStoredTree } from './tree-check.js';

export interface VerifySettings {
  /** Shares up to this size are read whole for a full check (default 8 MiB). */
  wholeShareMax: number;
  /** Bytes of blocks (or of tree nodes) read at once when streaming (default 2 MiB). */
  windowBytes: number;
}

export const DEFAULT_VERIFY_SETTINGS: VerifySettings = { wholeShareMax: 8 * 1024 * 1024, windowBytes: 2 * 1024 * 1024 };

/**
 * The cheap check of one copy: the header is exactly the one the layout
 * implies, the share has exactly the layout's size, its UEB is the file's, and
 * its block-tree root with the share hash chain leads to the UEB's share root.
 * Returns the verified block-tree root.
 */
export async function checkShareCheap(io: GridIo, file: FileShape, c: ShareCopy): Promise<Buffer> {
  const l = file.layout;
  const [[header, root, chain], tail] = await Promise.all([
    readPieces(io, c, file.si, [
      { start: 0, end: SHARE_HEADER_BYTES },
      { start: l.blockTreeOffset, end: l.blockTreeOffset + HASH_BYTES },
      { start: l.shareChainOffset, end: l.crypttextTreeOffset },
    ]),
    // One byte past the end: a longer share answers it.
    readUpTo(io, c, file.si, l.uebOffset, l.end + 1),
  ]);
  if (!encodeShareHeader(l, c.shnum).equals(header)) throw new IntegrityError(`share ${c.shnum}: header differs from the layout the UEB implies`);
  if (tail.length > UEB_BYTES) throw new IntegrityError(`share ${c.shnum}: longer than the ${l.end} bytes of its layout`);
  if (tail.length < UEB_BYTES) throw new IntegrityError(`share ${c.shnum}: shorter than the ${l.end} bytes of its layout`);
  if (!file.uebBytes.equals(tail)) throw new IntegrityError(`share ${c.shnum}: its UEB differs from the file's`);
  new ShareVerifier(file.ueb, l, c.shnum).acceptBlockTreeRoot(root, hashesAt(chain, l.shareChainLength));
  return Buffer.from(root);
}

/** Segments whose blocks are read at once: about `windowBytes` of blocks, at least one. */
export function segmentWindows(g: FileGeometry, windowBytes: number): [first: number, end: number][] {
  const per = Math.max(1, Math.floor(windowBytes / Math.max(1, g.blockSize)));
  const out: [number, number][] = [];
  for (let a = 0; a < g.numSegments; a += per) out.push([a, Math.min(g.numSegments, a + per)]);
  return out;
}

/** Byte range of the blocks of segments [a, b) in a share (they are contiguous). */
export function blocksSpan(l: ShareLayout, a: number, b: number): { start: number; end: number } {
  const last = blockRange(l, b - 1);
  return { start: blockRange(l, a).offset, end: last.offset + last.length };
}

/** Byte range of the leaves of segments [a, b) in a tree stored at `treeOffset`. */
export function leavesSpan(l: ShareLayout, treeOffset: number, a: number, b: number): { start: number; end: number } {
  const p = paddedLeafCount(l.geometry.numSegments);
  return { start: treeOffset + (p - 1 + a) * HASH_BYTES, end: treeOffset + (p - 1 + b) * HASH_BYTES };
}

/** The blocks of segments [a, b) cut out of the bytes of blocksSpan(a, b). */
export function cutBlocks(l: ShareLayout, a: number, b: number, bytes: Uint8Array): Uint8Array[] {
  const g = l.geometry;
  const out: Uint8Array[] = [];
  for (let i = a, o = 0; i < b; i++) {
    const len = blockSizeOf(g, i);
    out.push(bytes.subarray(o, o + len));
    o += len;
  }
  return out;
}

/** Nodes [first, end) of the tree stored at `treeOffset` of a copy. */
export function treeReader(io: GridIo, file: FileShape, c: ShareCopy, treeOffset: number) {
  return (first: number, end: number) => readExact(io, c, file.si, treeOffset + first * HASH_BYTES, treeOffset + end * HASH_BYTES);
}

/**
 * Every byte of one copy. Returns the verified block-tree root. Throws
 * IntegrityError (or CORRUPT_SHARE) for a bad copy; any other error is about
 * reaching the server.
 */
export async function checkShareFull(io: GridIo, file: FileShape, c: ShareCopy, s: VerifySettings = DEFAULT_VERIFY_SETTINGS): Promise<Buffer> {
  const l = file.layout;
  if (l.end <= s.wholeShareMax) {
    const bytes = await readUpTo(io, c, file.si, 0, l.end + 1);
    if (bytes.length !== l.end) throw new IntegrityError(`share ${c.shnum}: ${bytes.length > l.end ? 'longer' : 'shorter'} than the ${l.end} bytes of its layout`);
    verifyShareBytes(bytes, file.cap.uebHash, c.shnum);
    return Buffer.from(bytes.subarray(l.blockTreeOffset, l.blockTreeOffset + HASH_BYTES));
  }
  const root = await checkShareCheap(io, file, c);
  const windowNodes = Math.max(2, Math.floor(s.windowBytes / HASH_BYTES));
  const g = l.geometry;
  await verifyStoredTree(treeReader(io, file, c, l.blockTreeOffset), g.numSegments, root, `share ${c.shnum} block tree`, windowNodes);
  await verifyStoredTree(treeReader(io, file, c, l.crypttextTreeOffset), g.numSegments, file.ueb.crypttextRoot, `share ${c.shnum} crypttext tree`, windowNodes);
  // Blocks against the (now trusted) leaves, a window at a time; the next window is read while this one is hashed.
  const windows = segmentWindows(g, s.windowBytes);
  const fetch = (w: [number, number]) => {
    const bs = blocksSpan(l, w[0], w[1]);
    const ls = leavesSpan(l, l.blockTreeOffset, w[0], w[1]);
    return readPieces(io, c, file.si, [bs, ls], 0);
  };
  let next = fetch(windows[0]);
  for (let wi = 0; wi < windows.length; wi++) {
    const [a, b] = windows[wi];
    const [blockBytes, leafBytes] = await next;
    if (wi + 1 < windows.length) {
      next = fetch(windows[wi + 1]);
      next.catch(() => undefined); // observed on the next turn
    }
    const hashes = await blockHashesAsync(cutBlocks(l, a, b, blockBytes));
    hashes.forEach((h, j) => {
      if (!h.equals(leafBytes.subarray(j * HASH_BYTES, (j + 1) * HASH_BYTES))) throw new IntegrityError(`share ${c.shnum}: block ${a + j} fails its hash`, { shnum: c.shnum, segment: a + j });
    });
  }
  return root;
}
