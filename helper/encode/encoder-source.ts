/**
 * The upload's block source: a spooled ciphertext read segment by segment,
 * erasure-coded into n blocks, hashed into the share set being built. Every
 * segment is hashed again as it is read and must equal its leaf before it is
 * coded, so no leaf reaches a UEB without the bytes coded under it; and the
 * finished root must be the job's crypttext root as the job store holds it
 * then, or nothing is finished.
 */
import path from 'node:path';
import { FerryError } from '../../core/errors.js';
import { HASH_BYTES, MerkleTree } from '../../core/merkle.js';
import type { FileGeometry } from '../../core/params.js';
import { framedDigest } from '../../core/tagged-hash.js';
import { blockHashesAsync, splitSegment, type EncodedFile } from '../../core/share-builder.js';
import { encodeShareHeader, type ShareLayout } from '../../core/share-layout.js';
import { encodeUeb, uebHash } from '../../core/ueb.js';
import type { BlockSource, ShareTails } from '../push/pusher.js';
import { flatTree } from './flat-tree.js';
import { LeafSpill } from './leaf-spill.js';
import { SegmentSource } from './segment-source.js';

/** What the codec pool's encodeHashed gives: the n blocks, and the hashes the worker computed beside them. */
export interface HashedEncode {
  shares: Uint8Array[];
  hashes: { segment: Uint8Array; blocks: Uint8Array };
}

/**
 * The erasure encoder: all n blocks of a segment's k. When it also hashes
 * (HashedEncode), its blocks are fresh buffers owned by the caller, and the
 * segment hash covers exactly the bytes it coded (`segmentLength` of them).
 */
export type EncodeFn = (k: number, n: number, blocks: Uint8Array[], segmentLength: number) => Promise<Uint8Array[] | HashedEncode>;

/** The finished file's roots and UEB (the share trailers went to the pusher one by one). */
export type FinishedFile = Pick<EncodedFile, 'ueb' | 'uebHash' | 'crypttextRoot' | 'shareRoot'>;

/** A coded segment with its hashes: the crypttext segment's and its n blocks' (n × 32 bytes). */
interface CodedSegment {
  blocks: Uint8Array[];
  segmentHash: Uint8Array;
  blockHashes: Uint8Array;
  /** The blocks are fresh buffers nobody else writes to: sinks may keep them without a copy. */
  owned: boolean;
}

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

/** Segments between two reads of the job's current root (the last read is before the trailers, and on any mismatch). */
const CURRENT_CHECK_EVERY = 64;

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
  private encoded: FinishedFile | undefined;
  /** The block-hash leaves, on disk: memory stays flat whatever the segment count. */
  private spill: LeafSpill | undefined;

  constructor(private readonly o: EncoderInput) {}

  /** Bytes of block-hash leaves held in memory (a bounded window; the rest is spilled). */
  get leafMemoryBytes(): number {
    return this.spill?.memoryBytes ?? 0;
  }

  async feed(_shnums: readonly number[], deliver: (segment: number, blockOf: (shnum: number) => Uint8Array, owned?: boolean) => Promise<void>): Promise<void> {
    const { o } = this;
    const g = o.geometry;
    const spoolFile = await o.spoolFile();
    await this.spill?.close();
    this.spill = await LeafSpill.open(path.dirname(spoolFile), g.n, g.numSegments);
    const source = await SegmentSource.open(spoolFile, g);
    const scratch = new Uint8Array(g.segmentSize);
    // Segment i+1 is read and coded while segment i is handed to the sinks.
    const prepare = async (i: number): Promise<CodedSegment> => {
      await o.available?.(Math.min(g.size, (i + 1) * g.segmentSize), o.signal);
      const { segment, framed } = await source.read(i);
      // A replaced hash list stops a stale encode early (it is a job-store read: not every segment).
      if (i % CURRENT_CHECK_EVERY === 0) await this.assertCurrent();
      const coded = await o.encode(g.k, g.n, splitSegment(g, i, segment, i === g.numSegments - 1 ? scratch : undefined), segment.length);
      if (!Array.isArray(coded)) return { blocks: coded.shares, segmentHash: coded.hashes.segment, blockHashes: coded.hashes.blocks, owned: true };
      // An encoder that does not hash: hash here (the spool buffer is intact until segment i+2 is read).
      return { blocks: coded, segmentHash: await framedDigest(framed), blockHashes: Buffer.concat(await blockHashesAsync(coded)), owned: false };
    };
    try {
      let next = prepare(0);
      // Observed from the start: an abort before the first await (a helper shutting down) must not
      // leave this prefetch rejecting unhandled.
      next.catch(() => undefined);
      for (let i = 0; i < g.numSegments; i++) {
        o.signal?.throwIfAborted();
        const coded = await next;
        if (i + 1 < g.numSegments) next = prepare(i + 1);
        next.catch(() => undefined); // observed on the next turn
        // The hash of the very bytes coded must be the committed leaf before any block leaves.
        const leaf = o.segmentHashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES);
        if (!Buffer.from(coded.segmentHash).equals(leaf)) {
          // A replaced hash list first: then the bytes are not wrong, this encode is stale.
          await this.assertCurrent();
          throw new SpoolMismatch(i, i * g.segmentSize, o.crypttextRoot);
        }
        await this.spill.add(i, coded.blockHashes);
        await deliver(i, (s) => coded.blocks[s], coded.owned);
      }
    } catch (err) {
      await this.close();
      throw err;
    } finally {
      await source.close();
    }
  }

  private async close(): Promise<void> {
    const spill = this.spill;
    this.spill = undefined;
    await spill?.close();
  }

  private async assertCurrent(): Promise<void> {
    if ((await this.o.currentRoot()) !== this.o.crypttextRoot) {
      throw new FerryError('CONFLICT', 'the segment hashes of this upload were replaced while it was encoded');
    }
  }

  /**
   * Called once every segment was fed; a root that is not the job's current
   * one finishes nothing. Each share's trailer is read back from the spill
   * when the pusher asks for it, so they are not all in memory at once.
   */
  async trailers(_shnums: readonly number[]): Promise<ShareTails> {
    const { spill } = this;
    if (!spill) throw new Error('EncoderSource.trailers() before feed()');
    try {
      const g = this.o.geometry;
      const crypttextNodes = await flatTree(this.o.segmentHashes);
      const crypttextRoot = crypttextNodes.subarray(0, HASH_BYTES);
      if (!crypttextRoot.equals(Buffer.from(this.o.crypttextRoot, 'hex'))) {
        throw new FerryError('INTEGRITY_ERROR', 'crypttext root of the spool differs from the one checked in');
      }
      const shareTree = new MerkleTree(await spill.buildTrees());
      await this.assertCurrent();
      const ueb = encodeUeb({ k: g.k, n: g.n, size: g.size, segmentSize: g.segmentSize, numSegments: g.numSegments, crypttextRoot: Buffer.from(crypttextRoot), shareRoot: shareTree.root });
      this.encoded = { ueb, uebHash: uebHash(ueb), crypttextRoot: Buffer.from(crypttextRoot), shareRoot: shareTree.root };
      const layout = this.o.layout;
      return {
        get: async (s) => ({ header: encodeShareHeader(layout, s), trailer: Buffer.concat([await spill.treeOf(s), ...shareTree.proof(s), crypttextNodes, ueb]) }),
        close: () => this.close(),
      };
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** The finished share set (UEB, headers, trailers), checked against the job's crypttext root by trailers(). */
  result(): FinishedFile {
    if (!this.encoded) throw new Error('EncoderSource.result() before trailers()');
    return this.encoded;
  }
}
