import type { CipherCursor } from '../core/crypto/cipher.js';
import { producedGarbage } from './gc-pacer.js';

/**
 * Bytes per cipher update. Node's cipher allocates a fresh output buffer per
 * call: at 1–4 MiB that allocation (fresh pages) costs more than ChaCha20
 * itself; at 64 KiB it comes from reused memory (measured ~2× less CPU).
 * Each output is garbage soon after: reported to the GC pacer (gc-pacer.ts).
 */
export const CIPHER_PIECE = 64 * 1024;

/** The ciphertext of `plain`, in fresh pieces of at most CIPHER_PIECE bytes the caller may keep. */
export function* cipherPieces(cursor: CipherCursor, plain: Uint8Array): Generator<Buffer> {
  for (let off = 0; off < plain.length; off += CIPHER_PIECE) {
    const piece = cursor.update(plain.subarray(off, off + CIPHER_PIECE));
    producedGarbage(piece.length);
    yield piece;
  }
}

/** Encrypts `plain` into `out` at `at`, a piece at a time. */
export function encryptInto(cursor: CipherCursor, plain: Uint8Array, out: Uint8Array, at: number): void {
  for (let off = 0; off < plain.length; off += CIPHER_PIECE) {
    const piece = cursor.update(plain.subarray(off, off + CIPHER_PIECE));
    out.set(piece, at + off);
    producedGarbage(piece.length);
  }
}
