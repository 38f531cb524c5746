/**
 * The two codec operations a repair needs: k share blocks back to the k
 * primary blocks, and the primary blocks to any chosen share numbers. On the
 * helper's worker pool when it has one, else in this thread.
 */
import { ErasureCodec, type CodecPool } from '../../core/erasure/index.js';

export interface RepairCodec {
  decode(k: number, n: number, shares: Uint8Array[], shareNums: number[]): Promise<Uint8Array[]>;
  encodeShares(k: number, n: number, blocks: Uint8Array[], shareNums: number[]): Promise<Uint8Array[]>;
}

export function inThreadCodec(): RepairCodec {
  const codecs = new Map<string, ErasureCodec>();
  const codec = (k: number, n: number) => {
    const key = `${k}/${n}`;
    let c = codecs.get(key);
    if (!c) codecs.set(key, (c = new ErasureCodec(k, n)));
    return c;
  };
  return {
    decode: async (k, n, shares, nums) => codec(k, n).decode(shares, nums),
    encodeShares: async (k, n, blocks, nums) => codec(k, n).encodeShares(blocks, nums),
  };
}

export function poolCodec(pool: CodecPool): RepairCodec {
  return {
    decode: (k, n, shares, nums) => pool.decode(k, n, shares, nums),
    encodeShares: (k, n, blocks, nums) => pool.encodeShares(k, n, blocks, nums),
  };
}
