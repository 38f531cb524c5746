/**
 * A segment counts only once every byte of it is on disk (issue 13): short
 * writes (a file-size limit, a nearly full disk) are continued, and a write
 * that fails leaves that segment and everything after it not received.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeVerified, type SpoolHandle } from '../../../helper/intake/verified-writer.js';
import { prepare, type PreparedFile } from '../../support/prepare.js';
import { tempDir } from '../../support/tmp.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  tmp = await tempDir();
});
afterEach(() => tmp.cleanup());

/**
 * A real file handle whose writes store at most `maxPerCall` bytes each, and
 * which refuses (EFBIG, as past `ulimit -f`) any byte at or beyond `limit`.
 */
function limitedOpen(o: { maxPerCall?: number; limit?: number; failRange?: [number, number] }) {
  return async (file: string): Promise<SpoolHandle> => {
    const fh = await fs.open(file, 'r+');
    return {
      datasync: () => fh.datasync(),
      close: () => fh.close(),
      write: (async (buf: Buffer, offset: number, length: number, position: number) => {
        let len = Math.min(length, o.maxPerCall ?? length);
        if (o.failRange && position < o.failRange[1] && position + len > o.failRange[0]) {
          throw Object.assign(new Error('no space left'), { code: 'ENOSPC', syscall: 'write' });
        }
        if (o.limit !== undefined) {
          if (position >= o.limit) throw Object.assign(new Error('file too large'), { code: 'EFBIG', syscall: 'write' });
          len = Math.min(len, o.limit - position);
        }
        return fh.write(buf, offset, len, position);
      }) as SpoolHandle['write'],
    };
  };
}

async function spoolOf(f: PreparedFile, open: ReturnType<typeof limitedOpen>): Promise<{ committed: number[]; result: number | Error; disk: Buffer }> {
  const file = path.join(tmp.dir, 'spool.ct');
  await fs.writeFile(file, '');
  const committed: number[] = [];
  const chunks = Array.from({ length: Math.ceil(f.ciphertext.length / 1000) }, (_, i) => f.ciphertext.subarray(i * 1000, (i + 1) * 1000));
  const result = await writeVerified({
    file,
    source: Readable.from(chunks),
    offset: 0,
    geometry: f.geometry,
    segmentHashes: f.hashes,
    commit: async (o) => {
      committed.push(o);
    },
    commitEvery: 1,
    open,
  }).catch((err: Error) => err);
  return { committed, result, disk: await fs.readFile(file) };
}

describe('verified spool writes', () => {
  it('continues short writes until every byte of each segment is on disk', async () => {
    const f = await prepare(randomBytes(4 * 4096 + 17), { k: 2, n: 4, maxSegmentSize: 4096 });
    const { result, disk } = await spoolOf(f, limitedOpen({ maxPerCall: 1000 }));
    expect(result).toBe(f.ciphertext.length);
    expect(disk.equals(f.ciphertext)).toBe(true);
  });

  it('counts nothing from the segment whose write failed on (file-size limit)', async () => {
    const f = await prepare(randomBytes(4 * 4096 + 17), { k: 2, n: 4, maxSegmentSize: 4096 });
    const seg = f.geometry.segmentSize;
    const { committed, result, disk } = await spoolOf(f, limitedOpen({ limit: 2 * seg + 100 }));
    const last = committed.at(-1) ?? 0;
    expect(last).toBe(2 * seg);
    // Every byte counted as received is on disk.
    expect(disk.subarray(0, last).equals(f.ciphertext.subarray(0, last))).toBe(true);
    expect(result).toMatchObject({ code: 'INSUFFICIENT_STORAGE' });
  });

  it('counts no segment after one whose write failed, even if later writes succeed', async () => {
    const f = await prepare(randomBytes(5 * 4096 + 17), { k: 2, n: 4, maxSegmentSize: 4096 });
    const seg = f.geometry.segmentSize;
    const { committed, result } = await spoolOf(f, limitedOpen({ failRange: [2 * seg, 3 * seg] }));
    expect(committed.at(-1)).toBe(2 * seg);
    expect(result).toMatchObject({ code: 'INSUFFICIENT_STORAGE' });
  });
});
