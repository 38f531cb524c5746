/**
 * Framed reads (what the gateway hashes blocks from): the bytes asked land
 * after the tag's framing, a run is cut into its pieces whatever the chunking
 * of the body, and a short or over-long answer is refused.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { framedBuffer, frameLength } from '../../../core/tagged-hash.js';
import type { CallOpts, GridServer, ShareStream } from '../../../helper/grid/grid.js';
import { readFramed, readFramedPieces, type GridIo } from '../../../helper/grid/io.js';
import { MemoryStorage } from './memory-grid.js';

const TAG = 'ferry:test:block';
const SI = 'si-framed';

/** A store whose bodies arrive in small chunks, optionally with bytes nobody asked for. */
class ChunkedStorage extends MemoryStorage {
  extra = 0;

  constructor(private readonly chunkSize: number) {
    super('chunked');
  }

  override async readStream(si: string, shnum: number, start: number, end: number, opts?: CallOpts): Promise<ShareStream> {
    const bytes = Buffer.concat([await this.read(si, shnum, start, end, opts), Buffer.alloc(this.extra)]);
    const size = this.chunkSize;
    async function* chunks() {
      for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
    }
    return { start, end: start + bytes.length, body: Object.assign(chunks(), { destroy: () => undefined }) };
  }
}

function setup(chunkSize: number) {
  const store = new ChunkedStorage(chunkSize);
  const share = randomBytes(1000);
  store.put(SI, 4, share);
  const server: GridServer = { id: 'chunked', url: 'mem://chunked', client: store };
  const io: GridIo = { timeoutMs: 5_000 };
  return { store, share, copy: { shnum: 4, server }, io };
}

const payload = (framed: Buffer) => framed.subarray(frameLength(TAG));

describe('framed reads', () => {
  it('readFramed puts exactly the bytes asked after the framing', async () => {
    const { share, copy, io } = setup(64);
    const framed = await readFramed(io, copy, SI, 100, 300, TAG);
    expect(framed.subarray(0, frameLength(TAG)).equals(framedBuffer(TAG, 0))).toBe(true);
    expect(payload(framed).equals(share.subarray(100, 300))).toBe(true);
  });

  it('readFramedPieces cuts a run into its pieces, in order, across chunk boundaries', async () => {
    const { share, copy, io } = setup(7);
    const lengths = [10, 1, 33, 0, 56];
    const taken: [number, Buffer][] = [];
    await readFramedPieces(io, copy, SI, 200, lengths, TAG, (j, framed) => taken.push([j, Buffer.from(framed)]));
    expect(taken.map(([j]) => j)).toEqual([0, 1, 2, 3, 4]);
    let at = 200;
    for (const [j, framed] of taken) {
      expect(payload(framed).equals(share.subarray(at, at + lengths[j]))).toBe(true);
      at += lengths[j];
    }
  });

  it('a share that ends before the range is CORRUPT_SHARE, for one block and for a run', async () => {
    const { copy, io } = setup(64);
    await expect(readFramed(io, copy, SI, 900, 1100, TAG)).rejects.toMatchObject({ code: 'CORRUPT_SHARE', message: 'share 4 on mem://chunked ends before byte 1100' });
    await expect(readFramedPieces(io, copy, SI, 900, [50, 150], TAG, () => undefined)).rejects.toMatchObject({ code: 'CORRUPT_SHARE' });
  });

  it('a server sending more than asked is UPSTREAM_ERROR', async () => {
    const { store, copy, io } = setup(64);
    store.extra = 5;
    await expect(readFramed(io, copy, SI, 0, 100, TAG)).rejects.toMatchObject({ code: 'UPSTREAM_ERROR', message: 'storage server mem://chunked sent more bytes than asked' });
    await expect(readFramedPieces(io, copy, SI, 0, [60, 40], TAG, () => undefined)).rejects.toMatchObject({ code: 'UPSTREAM_ERROR' });
  });
});
