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
}

export interface SerializedError {
  name: string;
  code?: string;
  message: string;
}

export type CodecResponse =
  /** `spare`: input buffers the results do not use, handed back for reuse. */
  | { id: number; ok: true; blocks: Uint8Array[]; spare: ArrayBuffer[] }
  | { id: number; ok: false; error: SerializedError };

/** The distinct transferable buffers behind some views (shared memory is never transferred). */
export function transferablesOf(blocks: readonly Uint8Array[]): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  for (const b of blocks) if (b.buffer instanceof ArrayBuffer) seen.add(b.buffer);
  return [...seen];
}
