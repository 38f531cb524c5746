import { promises as fs } from 'node:fs';
import type { Readable } from 'node:stream';
import { FerryError } from '../../core/errors.js';
import { HASH_BYTES } from '../../core/merkle.js';
import type { FileGeometry } from '../../core/params.js';
import { framedDigest, netstring, TAGS } from '../../core/tagged-hash.js';

export interface VerifiedWriteOptions {
  file: string;
  source: Readable;
  /** Where the bytes start: a committed offset, always a segment boundary. */
  offset: number;
  geometry: FileGeometry;
  /** The client's crypttext segment hashes, 32 bytes each. */
  segmentHashes: Uint8Array;
  /** Durably records a new committed offset (called after the data is fsynced). */
  commit: (offset: number) => Promise<void>;
  /** Verified bytes allowed to wait for an fsync; bounds what a helper crash can lose. */
  commitEvery?: number;
  /** Opens the spool for writing (tests inject short or failing writes). */
  open?: (file: string) => Promise<SpoolHandle>;
}

/** What the writer needs of a file handle. */
export type SpoolHandle = Pick<fs.FileHandle, 'write' | 'datasync' | 'close'>;

/** Writes every byte of `buf` at `position`: a write may store fewer bytes than asked (file-size limit, full disk). */
async function writeFully(fh: SpoolHandle, buf: Buffer, offset: number, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await fh.write(buf, offset + done, length - done, position + done);
    if (bytesWritten <= 0) throw new FerryError('INSUFFICIENT_STORAGE', `the holding dir took no more bytes at offset ${position + done}`);
    done += bytesWritten;
  }
}

const PREFIX = netstring(TAGS.crypttextSegment);
/** Segments being written and hashed at once, bounded to ~32 MiB of buffers. */
const MAX_IN_FLIGHT_BYTES = 32 * 1024 * 1024;

interface InFlight {
  segment: number;
  end: number;
  buf: Buffer;
  done: Promise<[unknown, Uint8Array]>;
}

/**
 * Writes an upload body into the spool, segment by segment. A segment counts
 * only once all its bytes are on disk, its hash equals the client's, and the
 * file is fsynced: the returned offset (tus Upload-Offset) never covers a
 * byte that is unverified or could vanish in a crash. A segment whose hash is
 * wrong is refused alone; everything verified before it is kept.
 *
 * Hashing is SHA-256 over every byte, the slowest step on machines without
 * SHA extensions, so each whole segment is hashed with WebCrypto (on the
 * libuv pool) while the event loop receives the next one and the write runs
 * beside it.
 */
export async function writeVerified(o: VerifiedWriteOptions): Promise<number> {
  const g = o.geometry;
  if (o.offset !== g.size && o.offset % g.segmentSize !== 0) {
    throw new FerryError('OFFSET_MISMATCH', `upload offset ${o.offset} is not a segment boundary`);
  }
  const commitEvery = o.commitEvery ?? 16 * 1024 * 1024;
  const depth = Math.max(1, Math.min(4, Math.floor(MAX_IN_FLIGHT_BYTES / g.segmentSize)));
  const fh = await (o.open ?? ((file) => fs.open(file, 'r+')))(o.file);
  const free: Buffer[] = [];
  const inFlight: InFlight[] = [];
  let verified = o.offset;
  let committed = o.offset;
  let segment = Math.floor(o.offset / g.segmentSize);
  let segStart = segment * g.segmentSize;
  let segEnd = Math.min(g.size, segStart + g.segmentSize);
  let refused: FerryError | undefined;
  /** A segment whose write failed: neither it nor any later segment counts. */
  let broken = false;

  const newBuffer = (): Buffer => {
    const b = free.pop() ?? Buffer.allocUnsafe(PREFIX.length + g.segmentSize);
    PREFIX.copy(b, 0);
    return b;
  };
  let cur = newBuffer();
  let fill = 0;

  const commit = async () => {
    if (verified === committed) return;
    await fh.datasync();
    await o.commit(verified);
    committed = verified;
  };
  /** Settles the oldest segment: checks its hash and moves `verified` past it. */
  const settleOne = async () => {
    const f = inFlight.shift()!;
    let digest: Uint8Array;
    try {
      [, digest] = await f.done;
    } catch (err) {
      broken = true;
      throw err;
    } finally {
      free.push(f.buf);
    }
    if (refused || broken) return;
    const expected = o.segmentHashes.subarray(f.segment * HASH_BYTES, (f.segment + 1) * HASH_BYTES);
    if (!Buffer.from(digest).equals(expected)) {
      refused = new FerryError('SEGMENT_HASH_MISMATCH', `segment ${f.segment} does not match its hash; resend from offset ${verified}`, {
        details: { segment: f.segment, offset: verified },
      });
      return;
    }
    verified = f.end;
    if (verified - committed >= commitEvery || verified === g.size) await commit();
  };
  const launch = () => {
    const len = segEnd - segStart;
    const buf = cur;
    const done = Promise.all([writeFully(fh, buf, PREFIX.length, len, segStart), framedDigest(buf.subarray(0, PREFIX.length + len))]);
    done.catch(() => undefined); // observed in settleOne
    inFlight.push({ segment, end: segEnd, buf, done });
    segment++;
    segStart = segEnd;
    segEnd = Math.min(g.size, segStart + g.segmentSize);
    cur = newBuffer();
    fill = 0;
  };

  try {
    for await (const chunk of o.source as AsyncIterable<Buffer>) {
      // After a refusal the rest of the body is read and dropped: stopping mid-body
      // makes the tus server report an abort instead of our 460.
      if (refused) continue;
      let off = 0;
      while (off < chunk.length) {
        if (segStart >= g.size) throw new FerryError('PAYLOAD_TOO_LARGE', `upload body goes past the declared size ${g.size}`);
        const take = Math.min(chunk.length - off, segEnd - segStart - fill);
        chunk.copy(cur, PREFIX.length + fill, off, off + take);
        fill += take;
        off += take;
        if (fill === segEnd - segStart) {
          launch();
          while (inFlight.length >= depth) await settleOne();
          if (refused) break;
        }
      }
    }
    // A trailing partial segment is dropped: it is not verifiable, and the client resends from `committed`.
    while (inFlight.length) await settleOne();
    if (refused) {
      await commit();
      throw refused;
    }
    await commit();
    return committed;
  } catch (err) {
    // Keep whatever was verified before the failure (client went away, bad segment).
    while (inFlight.length) await settleOne().catch(() => undefined);
    await commit().catch(() => undefined);
    if (err instanceof FerryError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOSPC' || e.code === 'EFBIG') throw new FerryError('INSUFFICIENT_STORAGE', `the holding dir took no more bytes (${e.code})`, { cause: err });
    if (e.syscall) throw err; // a disk fault, not the client going away
    return committed;
  } finally {
    await fh.close();
  }
}
