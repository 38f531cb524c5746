import type { FileHandle } from 'node:fs/promises';
import type { CipherCursor } from '../core/crypto/cipher.js';
import { cipherPieces } from './cipher-pieces.js';
import { FerryError } from '../core/errors.js';
import { throwIfAborted } from './retry.js';

/**
 * Reads [start, end) of a file in chunks, one read always in flight ahead of
 * the consumer (hashing and encryption overlap the disk). Two buffers
 * alternate, so a yielded chunk is valid only until the next one is asked for.
 */
export async function* readChunks(fh: FileHandle, start: number, end: number, chunkSize: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const buffers = [Buffer.allocUnsafe(chunkSize), Buffer.allocUnsafe(chunkSize)];
  let which = 0;
  let position = start;
  const readAt = (buf: Buffer, pos: number) => {
    const p = fh.read(buf, 0, Math.min(chunkSize, end - pos), pos);
    // A consumer that stops early leaves the read-ahead unawaited: its failure must not be an unhandled rejection.
    p.catch(() => undefined);
    return p;
  };
  let pending = position < end ? readAt(buffers[which], position) : undefined;
  while (pending) {
    const { bytesRead, buffer } = await pending;
    throwIfAborted(signal);
    if (bytesRead === 0) throw new FerryError('CONFLICT', `the file became shorter while being read (at byte ${position} of ${end}); it changed, try again`);
    position += bytesRead;
    which ^= 1;
    pending = position < end ? readAt(buffers[which], position) : undefined;
    yield buffer.subarray(0, bytesRead);
  }
}

/** Ciphertext of [start, end), encrypted on the fly: fresh buffers (of at most CIPHER_PIECE bytes) the caller may keep. */
export async function* ciphertextChunks(fh: FileHandle, cursor: CipherCursor, end: number, chunkSize: number, signal?: AbortSignal): AsyncGenerator<Buffer> {
  for await (const plain of readChunks(fh, cursor.offset, end, chunkSize, signal)) yield* cipherPieces(cursor, plain);
}
