/**
 * The upload's block source: a spooled ciphertext read segment by segment,
 * erasure-coded into n blocks, hashed into the share set being built. The
 * trailers prove the spool is the file that was checked in (its crypttext
 * root), or nothing is finished.
 */
import { FerryError } from '../../core/errors.js';
import { HASH_BYTES } from '../../core/merkle.js';
import type { FileGeometry } from '../../core/params.js';
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
  /** Hex crypttext root the client checked in. */
  crypttextRoot: string;
  encode: EncodeFn;
  signal?: AbortSignal;
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
      const segment = await source.read(i);
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

  async trailers(shnums: readonly number[]): Promise<Map<number, { header: Uint8Array; trailer: Uint8Array }>> {
    const encoded = this.result();
    return new Map(shnums.map((s) => [s, { header: encoded.headers[s], trailer: encoded.trailers[s] }]));
  }

  /** The finished share set (UEB, headers, trailers), checked against the crypttext root checked in. */
  result(): EncodedFile {
    if (!this.encoded) {
      const encoded = this.builder.finish();
      if (!Buffer.from(encoded.crypttextRoot).equals(Buffer.from(this.o.crypttextRoot, 'hex'))) {
        throw new FerryError('INTEGRITY_ERROR', 'crypttext root of the spool differs from the one checked in');
      }
      this.encoded = encoded;
    }
    return this.encoded;
  }
}
