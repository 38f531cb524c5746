import { SeekableCipher } from '../../core/crypto/cipher.js';
import { ErasureCodec } from '../../core/erasure/index.js';
import { HASH_BYTES, uncleIndices } from '../../core/merkle.js';
import { segmentRange } from '../../core/params.js';
import { blockRange, blockTreeNodeOffset, crypttextTreeNodeOffset, decodeShareHeader } from '../../core/share-layout.js';
import { hashesAt, ShareVerifier, verifySegment, verifyUeb } from '../../core/share-verify.js';
import { parseReadCap } from '../../core/capability.js';
import { formatStorageIndex, storageIndexFromKey } from '../../core/storage-index.js';
import { StorageClient } from '../../storage/client.js';

/**
 * Reads whole shares back from storage servers, verifies every block against
 * the UEB hash, decodes from the first k good shares and decrypts: proof
 * that what the helper pushed is a readable file.
 */
export async function reassemble(o: { urls: string[]; token: string; si: string; key: Uint8Array; uebHash: Uint8Array }): Promise<Buffer> {
  const clients = o.urls.map((url) => new StorageClient({ url, token: o.token }));
  try {
    const shares = new Map<number, Buffer>();
    for (const c of clients) {
      for (const s of await c.list(o.si)) {
        if (shares.has(s)) continue;
        const size = await c.size(o.si, s);
        shares.set(s, Buffer.from(await c.read(o.si, s, 0, size)));
      }
    }
    const any = shares.values().next().value as Buffer;
    const header = decodeShareHeader(any);
    const { ueb, layout } = verifyUeb(any.subarray(header.offsets[4], header.offsets[5]), o.uebHash);
    const g = layout.geometry;
    const good: { shnum: number; bytes: Buffer; v: ShareVerifier }[] = [];
    for (const [shnum, bytes] of [...shares].sort((a, b) => a[0] - b[0])) {
      try {
        decodeShareHeader(bytes, layout);
        const v = new ShareVerifier(ueb, layout, shnum);
        const chain = hashesAt(bytes.subarray(layout.shareChainOffset, layout.crypttextTreeOffset), layout.shareChainLength);
        v.acceptBlockTreeRoot(bytes.subarray(layout.blockTreeOffset, layout.blockTreeOffset + HASH_BYTES), chain);
        good.push({ shnum, bytes, v });
      } catch {
        /* a bad share: skip */
      }
      if (good.length === g.k) break;
    }
    if (good.length < g.k) throw new Error(`only ${good.length} good shares`);
    const codec = new ErasureCodec(g.k, g.n);
    const cipher = new SeekableCipher(o.key);
    const out: Buffer[] = [];
    for (let i = 0; i < g.numSegments; i++) {
      const blocks = good.map(({ bytes, v }) => {
        const { offset, length } = blockRange(layout, i);
        const block = bytes.subarray(offset, offset + length);
        const uncles = uncleIndices(g.numSegments, i).map((n) => bytes.subarray(blockTreeNodeOffset(layout, n), blockTreeNodeOffset(layout, n) + HASH_BYTES));
        v.verifyBlock(i, block, uncles);
        return block;
      });
      const primary = codec.decode(blocks, good.map((s) => s.shnum));
      const { start, end } = segmentRange(g, i);
      const segment = Buffer.concat(primary).subarray(0, end - start);
      const ref = good[0].bytes;
      const uncles = uncleIndices(g.numSegments, i).map((n) => ref.subarray(crypttextTreeNodeOffset(layout, n), crypttextTreeNodeOffset(layout, n) + HASH_BYTES));
      verifySegment(ueb, i, segment, uncles);
      out.push(cipher.xorAt(start, segment));
    }
    return Buffer.concat(out);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

/** {@link reassemble} of the file a read-cap names, from the storage servers at `urls`. */
export function reassembleCap(o: { urls: string[]; token: string }, readCap: string): Promise<Buffer> {
  const cap = parseReadCap(readCap);
  return reassemble({ ...o, si: formatStorageIndex(storageIndexFromKey(cap.key)), key: cap.key, uebHash: cap.uebHash });
}
