/**
 * The upload's block source: a spooled ciphertext read segment by segment,
 * erasure-coded into n blocks, hashed into the share set being built. Every
 * segment is hashed again as it is read and must equal its leaf before it is
 * coded, so no leaf reaches a UEB without the bytes coded under it; and the
 * finished root must be the job's crypttext root as the job store holds it
 * then, or nothing is finished.
 */
import { FerryError } from '../../core/errors.js';
import { HASH_BYTES } from '../../core/merkle.js';
import type { FileGeometry } from '../../core/params.js';
import { framedDigest } from '../../core/tagged-hash.js';
import { blockHashesAsync, ShareSetBuilder, splitSegment, type EncodedFile } from '../../core/share-builder.js';
import type { ShareLayout } from '../../core/share-layout.js';
import type { BlockSource } from '../push/pusher.js';
import { SegmentSource } from './segment-source.js';

export type EncodeFn = (k: number, n: number, blocks: Uint8Array[]) => Promise<Uint8Array[]>;

export interface EncoderInput {
  geometry: FileGeometry;
  layout: ShareLayout;
  spoolFile: () => Promise<string>;
  /** Resolves once the spool holds verified bytes up to `end` (absent when the spool is complete). */
  available?: (end: number, signal?: AbortSignal) => Promise<void>;
  segmentHashes: Uint8Array;
  /** Hex crypttext root the client checked in (the root of `segmentHashes`). */
  crypttextRoot: string;
  /** The job's crypttext root as stored now: a hash list replaced meanwhile stops the encode. */
  currentRoot: () => Promise<string>;
  encode: EncodeFn;
  signal?: AbortSignal;
}

/** A spooled segment whose bytes do not hash to its leaf: the spool from `offset` on must be received again. */
export class SpoolMismatch extends FerryError {
  constructor(
    readonly segment: number,
    readonly offset: number,
    /** The crypttext root whose leaf the bytes failed. */
    readonly root: string,
  ) {
    super('INTEGRITY_ERROR', `spooled segment ${segment} does not match its segment hash; the spool from offset ${offset} is dropped`, { details: { segment, offset } });
    this.name = 'SpoolMismatch';
  }
}

export class EncoderSource implements BlockSource {
  private readonly builder: ShareSetBuilder;
  private encoded: EncodedFile | undefined;

  constructor(private readonly o: EncoderInput) {
    this.builder = new ShareSetBuilder(o.layout);
  }

  async feed(_shnums: readonly number[], deliver: (segment: number, blockOf: (shnum: number) => Uint8Array) => Promise<void>): Promise<void> {
    const { o } = this;
    const g = o.geometry;
    const source = await SegmentSource.open(await o.spoolFile(), g);
    const scratch = new Uint8Array(g.segmentSize);
    // Segment i+1 is read and coded while segment i is hashed and handed to the sinks.
    const prepare = async (i: number) => {
      await o.available?.(Math.min(g.size, (i + 1) * g.segmentSize), o.signal);
      const { segment, framed } = await source.read(i);
      // A replaced hash list first: then the bytes are not wrong, this encode is stale.
      await this.assertCurrent();
      const leaf = o.segmentHashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES);
      if (!(await framedDigest(framed)).equals(leaf)) throw new SpoolMismatch(i, i * g.segmentSize, o.crypttextRoot);
      return o.encode(g.k, g.n, splitSegment(g, i, segment, i === g.numSegments - 1 ? scratch : undefined));
    };
    try {
      let next = prepare(0);
      for (let i = 0; i < g.numSegments; i++) {
        o.signal?.throwIfAborted();
        const blocks = await next;
        if (i + 1 < g.numSegments) next = prepare(i + 1);
        next.catch(() => undefined); // observed on the next turn
        this.builder.restoreSegment(i, o.segmentHashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES), await blockHashesAsync(blocks));
        await deliver(i, (s) => blocks[s]);
      }
    } finally {
      await source.close();
    }
  }

  private async assertCurrent(): Promise<void> {
    if ((await this.o.currentRoot()) !== this.o.crypttextRoot) {
      throw new FerryError('CONFLICT', 'the segment hashes of this upload were replaced while it was encoded');
    }
  }

  /** Called once every segment was fed; a root that is not the job's current one finishes nothing. */
  async trailers(shnums: readonly number[]): Promise<Map<number, { header: Uint8Array; trailer: Uint8Array }>> {
    const encoded = this.builder.finish();
    if (!Buffer.from(encoded.crypttextRoot).equals(Buffer.from(this.o.crypttextRoot, 'hex'))) {
      throw new FerryError('INTEGRITY_ERROR', 'crypttext root of the spool differs from the one checked in');
    }
    await this.assertCurrent();
    this.encoded = encoded;
    return new Map(shnums.map((s) => [s, { header: encoded.headers[s], trailer: encoded.trailers[s] }]));
  }

  /** The finished share set (UEB, headers, trailers), checked against the job's crypttext root by trailers(). */
  result(): EncodedFile {
    if (!this.encoded) throw new Error('EncoderSource.result() before trailers()');
    return this.encoded;
  }
}
