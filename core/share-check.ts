import { FormatError, IntegrityError } from './errors.js';
import { emptyLeafHash, HASH_BYTES, nodeHash, paddedLeafCount } from './merkle.js';
import { blockSizeOf } from './params.js';
import { blockHash } from './share-builder.js';
import { encodeShareHeader } from './share-layout.js';
import { hashesAt, ShareVerifier, verifyUeb } from './share-verify.js';

/**
 * Checks every byte of one share against the capability's UEB hash: header,
 * UEB, share hash chain, every block, and every node of both trees (each
 * stored node must equal the hash of its children, padding leaves their
 * defined values). A flipped byte anywhere is found. Needs no key.
 */
export function verifyShareBytes(share: Uint8Array, expectedUebHash: Uint8Array, shnum: number): void {
  const bytes = Buffer.from(share.buffer, share.byteOffset, share.byteLength);
  if (bytes.length < 88) throw new IntegrityError(`share ${shnum} is too short`);
  const uebOffset = Number(bytes.readBigUInt64BE(72));
  const end = Number(bytes.readBigUInt64BE(80));
  if (end !== bytes.length || uebOffset > end) throw new IntegrityError(`share ${shnum}: header offsets do not match its length`);
  const { ueb, layout } = verifyUeb(bytes.subarray(uebOffset, end), expectedUebHash);
  if (!encodeShareHeader(layout, shnum).equals(bytes.subarray(0, 88))) throw new IntegrityError(`share ${shnum}: header differs from the layout the UEB implies`);
  if (layout.end !== bytes.length) throw new IntegrityError(`share ${shnum}: wrong size`);
  const g = layout.geometry;

  const blockTree = bytes.subarray(layout.blockTreeOffset, layout.shareChainOffset);
  const leaves: Buffer[] = [];
  for (let i = 0; i < g.numSegments; i++) {
    const off = layout.blocksOffset + i * g.blockSize;
    leaves.push(blockHash(bytes.subarray(off, off + blockSizeOf(g, i))));
  }
  checkTree(blockTree, g.numSegments, leaves, `share ${shnum} block tree`);
  const v = new ShareVerifier(ueb, layout, shnum);
  v.acceptBlockTreeRoot(blockTree.subarray(0, HASH_BYTES), hashesAt(bytes.subarray(layout.shareChainOffset, layout.crypttextTreeOffset), layout.shareChainLength));

  const ct = bytes.subarray(layout.crypttextTreeOffset, layout.uebOffset);
  checkTree(ct, g.numSegments, undefined, `share ${shnum} crypttext tree`);
  if (!ct.subarray(0, HASH_BYTES).equals(ueb.crypttextRoot)) throw new IntegrityError(`share ${shnum}: crypttext tree root differs from the UEB`);
}

/** Every interior node = H(children); pad leaves as defined; real leaves equal `leaves` when known. */
function checkTree(nodes: Buffer, leafCount: number, leaves: Buffer[] | undefined, what: string): void {
  const p = paddedLeafCount(leafCount);
  if (nodes.length !== (2 * p - 1) * HASH_BYTES) throw new FormatError('CORRUPT_SHARE', `${what} has the wrong size`);
  const node = (i: number) => nodes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES);
  for (let i = 0; i < p; i++) {
    const want = i < leafCount ? leaves?.[i] : emptyLeafHash(i);
    if (want && !node(p - 1 + i).equals(want)) throw new IntegrityError(`${what}: leaf ${i} is wrong`);
  }
  for (let i = p - 2; i >= 0; i--) {
    if (!nodeHash(node(2 * i + 1), node(2 * i + 2)).equals(node(i))) throw new IntegrityError(`${what}: node ${i} is wrong`);
  }
}
