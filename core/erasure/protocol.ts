/** Messages between CodecPool and its workers (no side effects: safe to import anywhere). */

export type CodecOp = 'encode' | 'encodeShares' | 'decode';

export interface CodecRequest {
  id: number;
  op: CodecOp;
  k: number;
  m: number;
  blocks: Uint8Array[];
  shareNums?: number[];
  /** Caller-provided result buffers, laid out as the ErasureCodec method's `outputs`. */
  outputs?: (Uint8Array | undefined)[];
  /**
   * encode only: also hash, in the worker, the first `segmentLength` bytes of
   * the k blocks (the crypttext segment) and every resulting share block, so
   * the main thread never hashes (nor copies for hashing) what it codes.
   */
  hash?: { segmentLength: number };
}

/** Hashes computed beside an encode: the tagged SHA-256s of the segment and of each of the m blocks. */
export interface CodecHashes {
  segment: Uint8Array;
  /** m × 32 bytes, block i's hash at i × 32. */
  blocks: Uint8Array;
}

export interface SerializedError {
  name: string;
  code?: string;
  message: string;
}

export type CodecResponse =
  /** `spare`: input buffers the results do not use, handed back for reuse. */
  | { id: number; ok: true; blocks: Uint8Array[]; spare: ArrayBuffer[]; hashes?: CodecHashes }
  | { id: number; ok: false; error: SerializedError };

/** The distinct transferable buffers behind some views (shared memory is never transferred). */
export function transferablesOf(blocks: readonly Uint8Array[]): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  for (const b of blocks) if (b.buffer instanceof ArrayBuffer) seen.add(b.buffer);
  return [...seen];
}
