/**
 * Streams one chunk of share data into a share file at its offset without
 * ever altering bytes already received: where the chunk overlaps received
 * intervals its bytes are compared with what is on disk (a difference is a
 * WRITE_CONFLICT), elsewhere they are written with positional writes. The
 * caller marks the range received only after this resolves and the file is
 * fsynced, so a failed request leaves nothing that counts.
 */
import type { FileHandle } from 'node:fs/promises';
import { FerryError } from '../../core/errors.js';
import { splitBy, type IntervalSet } from '../../runtime/intervals.js';

async function writeFully(handle: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await handle.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

async function readFully(handle: FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw new FerryError('INTERNAL', 'share file is shorter than its received data');
    done += bytesRead;
  }
  return buf;
}

/**
 * Body bytes gathered into one positional write: HTTP delivers 16-64 KiB
 * chunks, a write each would cost a thread-pool trip each. The HTTP handler
 * batches the body to this size (see storage/http/body-batches.ts), so its
 * pieces go to disk without being staged.
 */
export const STAGING_BYTES = 1024 * 1024;

/**
 * Contiguous bytes waiting for one write, in a buffer reused for the whole
 * request (allocated on first use). A piece at least as large as the buffer,
 * arriving with nothing staged, is written as it is: no copy.
 */
class Staging {
  private buf: Buffer | undefined;
  private start = 0;
  private fill = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly size: number,
  ) {}

  async add(bytes: Uint8Array, position: number): Promise<void> {
    if (this.fill > 0 && position !== this.start + this.fill) await this.flush();
    if (this.fill === 0 && bytes.length >= this.size) return writeFully(this.handle, bytes, position);
    const buf = (this.buf ??= Buffer.allocUnsafe(this.size));
    let off = 0;
    while (off < bytes.length) {
      if (this.fill === 0) this.start = position + off;
      const take = Math.min(bytes.length - off, buf.length - this.fill);
      buf.set(bytes.subarray(off, off + take), this.fill);
      this.fill += take;
      off += take;
      if (this.fill === buf.length) await this.flush();
    }
  }

  async flush(): Promise<void> {
    if (this.fill === 0) return;
    const n = this.fill;
    this.fill = 0;
    await writeFully(this.handle, this.buf!.subarray(0, n), this.start);
  }
}

/** Iterates `body`, turning its failures (client gone, stream error) into ABORTED. */
async function* guarded(body: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const it = body[Symbol.asyncIterator]();
  let finished = false;
  try {
    while (true) {
      let step: IteratorResult<Uint8Array>;
      try {
        step = await it.next();
      } catch (err) {
        finished = true;
        throw new FerryError('ABORTED', 'request body ended before it was complete', { cause: err });
      }
      if (step.done) {
        finished = true;
        return;
      }
      yield step.value;
    }
  } finally {
    if (!finished) await it.return?.();
  }
}

/**
 * Writes or verifies `body` at `[start, end)`. `received` is the set of
 * intervals whose bytes are final. Throws INVALID_RANGE when the body's
 * length is not `end - start`, WRITE_CONFLICT on a differing byte.
 */
export async function writeChunk(
  handle: FileHandle,
  received: IntervalSet,
  range: { start: number; end: number },
  body: AsyncIterable<Uint8Array>,
): Promise<void> {
  let pos = range.start;
  const staged = new Staging(handle, Math.min(STAGING_BYTES, range.end - range.start));
  // Leaving this loop early calls `return()` on `body`'s iterator. For an
  // HTTP request pass batchedBody(req) (or `req.iterator({ destroyOnReturn:
  // false })`): destroying the request would also kill the socket the error
  // response must use.
  for await (const chunk of guarded(body)) {
    if (chunk.length === 0) continue;
    if (pos + chunk.length > range.end) {
      throw new FerryError('INVALID_RANGE', `request body is longer than the ${range.end - range.start} bytes of its Content-Range`);
    }
    for (const piece of splitBy(received, [pos, pos + chunk.length])) {
      const bytes = chunk.subarray(piece.start - pos, piece.end - pos);
      if (piece.inside) {
        await staged.flush();
        const existing = await readFully(handle, bytes.length, piece.start);
        if (Buffer.compare(existing, bytes) !== 0) {
          throw new FerryError('WRITE_CONFLICT', `bytes ${piece.start}-${piece.end - 1} differ from data already received for this share`, {
            details: { conflict: [piece.start, piece.end] },
          });
        }
      } else {
        await staged.add(bytes, piece.start);
      }
    }
    pos += chunk.length;
  }
  await staged.flush();
  if (pos !== range.end) {
    throw new FerryError('INVALID_RANGE', `request body has ${pos - range.start} bytes but its Content-Range has ${range.end - range.start}`);
  }
}
