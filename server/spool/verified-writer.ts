import { promises as fs } from 'node:fs';
import type { Readable } from 'node:stream';
import { FerryError } from '../../core/errors.js';
import { HASH_BYTES } from '../../core/merkle.js';
import type { FileGeometry } from '../../core/params.js';
import { TAGS, taggedHasher } from '../../core/tagged-hash.js';

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
}

const WRITE_BATCH = 1024 * 1024;

/**
 * Writes an upload body into the spool, segment by segment. A segment counts
 * only once all its bytes are on disk, its hash equals the client's, and the
 * file is fsynced: the returned offset (tus Upload-Offset) never covers a
 * byte that is unverified or could vanish in a crash. A segment whose hash is
 * wrong is refused alone; everything verified before it is kept.
 */
export async function writeVerified(o: VerifiedWriteOptions): Promise<number> {
  const g = o.geometry;
  if (o.offset !== g.size && o.offset % g.segmentSize !== 0) {
    throw new FerryError('OFFSET_MISMATCH', `upload offset ${o.offset} is not a segment boundary`);
  }
  const commitEvery = o.commitEvery ?? 16 * 1024 * 1024;
  const fh = await fs.open(o.file, 'r+');
  let position = o.offset;
  let verified = o.offset;
  let committed = o.offset;
  let segment = Math.floor(o.offset / g.segmentSize);
  let segmentEnd = Math.min(g.size, (segment + 1) * g.segmentSize);
  let hasher = taggedHasher(TAGS.crypttextSegment);
  let pending: Buffer[] = [];
  let pendingStart = position;
  let pendingBytes = 0;

  const flush = async () => {
    if (!pendingBytes) return;
    await fh.writev(pending, pendingStart);
    pending = [];
    pendingBytes = 0;
  };
  const commit = async () => {
    if (verified === committed) return;
    await fh.datasync();
    await o.commit(verified);
    committed = verified;
  };

  // A refused segment ends the write, but the body is still read to its end
  // (and dropped): stopping mid-body makes the tus server report an abort
  // instead of our 460, and clients bound the waste by sending in chunks.
  let refused: FerryError | undefined;
  try {
    for await (const chunk of o.source as AsyncIterable<Buffer>) {
      if (refused) continue;
      let off = 0;
      while (off < chunk.length) {
        if (position >= g.size) throw new FerryError('PAYLOAD_TOO_LARGE', `upload body goes past the declared size ${g.size}`);
        const take = Math.min(chunk.length - off, segmentEnd - position);
        const part = chunk.subarray(off, off + take);
        if (!pendingBytes) pendingStart = position;
        pending.push(part);
        pendingBytes += take;
        hasher.update(part);
        position += take;
        off += take;
        if (pendingBytes >= WRITE_BATCH) await flush();
        if (position === segmentEnd) {
          await flush();
          const expected = o.segmentHashes.subarray(segment * HASH_BYTES, (segment + 1) * HASH_BYTES);
          if (!hasher.digest().equals(expected)) {
            await commit();
            refused = new FerryError('SEGMENT_HASH_MISMATCH', `segment ${segment} does not match its hash; resend from offset ${verified}`, {
              details: { segment, offset: verified },
            });
            break;
          }
          verified = segmentEnd;
          if (verified - committed >= commitEvery || verified === g.size) await commit();
          segment++;
          segmentEnd = Math.min(g.size, (segment + 1) * g.segmentSize);
          hasher = taggedHasher(TAGS.crypttextSegment);
        }
      }
    }
    if (refused) throw refused;
    await flush();
    await commit();
    return committed;
  } catch (err) {
    // Keep whatever was verified before the failure (client went away, bad segment).
    await commit().catch(() => undefined);
    if (err instanceof FerryError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOSPC') throw new FerryError('INSUFFICIENT_STORAGE', 'the holding dir is out of disk space', { cause: err });
    if (e.syscall) throw err; // a disk fault, not the client going away
    return committed;
  } finally {
    await fh.close();
  }
}
