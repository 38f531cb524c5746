/**
 * A Readable of plaintext bytes [start, end) of a file: fetches the segments
 * that overlap the range, in order, with a small read-ahead, and decrypts just
 * the overlapping bytes at their offset (the cipher is seekable). Memory stays
 * bounded: at most `readAhead + 1` segments are being fetched or waiting
 * (and PLAINTEXT_BUFFER_BYTES decrypted, waiting for the response), and
 * the next is only started when the consumer has taken one (backpressure);
 * below them, the blocks of the next segments are read from each share in
 * runs of at most `readAheadBytes` in all (block-runs.ts).
 * Destroying the stream aborts every share request still in flight.
 */
import { setMaxListeners } from 'node:events';
import { Readable } from 'node:stream';
import type { SeekableCipher } from '../../core/crypto/cipher.js';
import type { FileContext } from './file-context.js';
import { BlockRuns } from './block-runs.js';
import { fetchSegment, type VerifiedSegment } from './segment-fetcher.js';
import { publish, type EventSource } from '../diagnostics.js';
import type { GatewayStats } from './stats.js';

/**
 * Plaintext is decrypted and pushed in slices of this size: the cipher
 * allocates its output per call, and at 1 MiB a call runs at about 60 % of
 * its speed at 64–256 KiB (CPU time, measured).
 */
const DECRYPT_SLICE = 256 * 1024;

/**
 * Plaintext a reader holds decrypted before it waits for the response (one
 * segment at the default 1 MiB). At 64 KiB every 256 KiB slice stopped the
 * pump until the socket asked again; alternated 256 MiB GETs: 175-226 MB/s
 * against 124-211 MB/s, 6.4-7.5 against 6.5-11.9 CPU-s/GiB.
 */
export const PLAINTEXT_BUFFER_BYTES = 1024 * 1024;

export type SegmentSource = (i: number, windowLast: number, signal: AbortSignal) => Promise<VerifiedSegment>;

export interface PlaintextReaderOptions {
  ctx: FileContext;
  cipher: SeekableCipher;
  /** Half-open byte range of the plaintext, within the file. */
  start: number;
  end: number;
  /** Segments fetched ahead of the one being sent (default 2). */
  readAhead?: number;
  /** Block bytes read ahead from the shares, all shares together (0: one request per block). */
  readAheadBytes?: number;
  stats: GatewayStats;
  /** Who the `ferry:gateway:served` events are attributed to. */
  events: EventSource;
  /** Where segments come from (default: fetchSegment on ctx); multipart responses share a cache. */
  source?: SegmentSource;
}

export class PlaintextReader extends Readable {
  private readonly o: PlaintextReaderOptions;
  private readonly ac = new AbortController();
  private readonly queue: { i: number; segment: Promise<VerifiedSegment> }[] = [];
  private nextSegment: number;
  private readonly lastSegment: number;
  private pumping = false;
  private warm = false;
  private finished = false;
  private readonly runs: BlockRuns | undefined;

  constructor(o: PlaintextReaderOptions) {
    super({ highWaterMark: PLAINTEXT_BUFFER_BYTES });
    this.o = o;
    setMaxListeners(0, this.ac.signal);
    if (!o.source && (o.readAheadBytes ?? 0) > 0) this.runs = new BlockRuns(o.ctx.io, this.ac.signal, o.readAheadBytes!, (b) => o.stats.noteReadAhead(b));
    const seg = o.ctx.layout.geometry.segmentSize;
    this.nextSegment = Math.floor(o.start / seg);
    this.lastSegment = o.end > o.start ? Math.floor((o.end - 1) / seg) : this.nextSegment - 1;
    o.stats.readersOpen++;
  }

  /** Resolves once the first bytes can be sent (or rejects with why they cannot); lets a caller fail cleanly before sending headers. */
  firstSegment(): Promise<void> {
    this.fill();
    const head = this.queue[0];
    return head ? head.segment.then(() => this.warmUp()) : Promise.resolve();
  }

  /**
   * The first segment is fetched alone: its blocks then have the servers'
   * bandwidth to themselves, which halves the time to first byte of a range.
   * Read-ahead starts once it is in.
   */
  private warmUp(): void {
    if (this.warm) return;
    this.warm = true;
    this.fill();
  }

  override _read(): void {
    if (!this.pumping) void this.pump();
  }

  private fill(): void {
    const ahead = this.warm ? Math.max(0, this.o.readAhead ?? 2) : 0;
    const source = this.o.source ?? ((i, last, signal) => fetchSegment(this.o.ctx, i, last, signal, this.runs));
    while (!this.finished && this.queue.length <= ahead && this.nextSegment <= this.lastSegment) {
      const i = this.nextSegment++;
      const segment = source(i, this.lastSegment, this.ac.signal);
      segment.catch(() => undefined); // awaited in order below; never an unhandled rejection
      this.o.stats.holdSegment();
      this.queue.push({ i, segment });
    }
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (;;) {
        this.fill();
        const head = this.queue[0];
        if (!head) {
          this.push(null);
          return;
        }
        const seg = await head.segment;
        if (this.finished) return;
        this.warmUp();
        this.queue.shift();
        this.o.stats.releaseSegment();
        if (!this.send(seg)) return;
      }
    } catch (err) {
      if (!this.finished) this.destroy(err as Error);
    } finally {
      this.pumping = false;
    }
  }

  /**
   * Decrypts and pushes the part of `seg` inside the range (from its offset:
   * the cipher is seekable), a slice at a time; false when the consumer wants
   * no more for now.
   */
  private send(seg: VerifiedSegment): boolean {
    const from = Math.max(this.o.start, seg.start);
    const to = Math.min(this.o.end, seg.start + seg.length);
    const cursor = this.o.cipher.cursor(from);
    let more = true;
    let partStart = seg.start;
    for (const part of seg.parts) {
      const a = Math.max(from, partStart);
      const b = Math.min(to, partStart + part.length);
      for (let at = a; at < b; at += DECRYPT_SLICE) {
        more = this.push(cursor.update(part.subarray(at - partStart, Math.min(b, at + DECRYPT_SLICE) - partStart)));
      }
      partStart += part.length;
    }
    this.runs?.release(seg.parts);
    publish('ferry:gateway:served', this.o.events, () => ({ bytes: to - from, segments: 1 }));
    return more;
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.finished) {
      this.finished = true;
      this.ac.abort(err ?? new Error('download stream closed'));
      this.runs?.close();
      for (let j = 0; j < this.queue.length; j++) this.o.stats.releaseSegment();
      this.queue.length = 0;
      this.o.stats.readersOpen--;
    }
    callback(err);
  }
}
