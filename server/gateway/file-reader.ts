/**
 * A Readable of plaintext bytes [start, end) of a file: fetches the segments
 * that overlap the range, in order, with a small read-ahead, and decrypts just
 * the overlapping bytes at their offset (the cipher is seekable). Memory stays
 * bounded: at most `readAhead + 1` segments are being fetched or waiting, and
 * the next is only started when the consumer has taken one (backpressure).
 * Destroying the stream aborts every share request still in flight.
 */
import { setMaxListeners } from 'node:events';
import { Readable } from 'node:stream';
import type { SeekableCipher } from '../../core/crypto/cipher.js';
import type { FileContext } from './file-context.js';
import { fetchSegment, type VerifiedSegment } from './segment-fetcher.js';
import type { GatewayStats } from './stats.js';

export type SegmentSource = (i: number, windowLast: number, signal: AbortSignal) => Promise<VerifiedSegment>;

export interface PlaintextReaderOptions {
  ctx: FileContext;
  cipher: SeekableCipher;
  /** Half-open byte range of the plaintext, within the file. */
  start: number;
  end: number;
  /** Segments fetched ahead of the one being sent (default 2). */
  readAhead?: number;
  stats: GatewayStats;
  /** Where segments come from (default: fetchSegment on ctx); multipart responses share a cache. */
  source?: SegmentSource;
  /** Called with every error that destroys the stream (e.g. to drop a failing file context). */
  onError?: (err: Error) => void;
}

export class PlaintextReader extends Readable {
  private readonly o: PlaintextReaderOptions;
  private readonly ac = new AbortController();
  private readonly queue: { i: number; segment: Promise<VerifiedSegment> }[] = [];
  private nextSegment: number;
  private readonly lastSegment: number;
  private pumping = false;
  private finished = false;

  constructor(o: PlaintextReaderOptions) {
    super({ highWaterMark: 64 * 1024 });
    this.o = o;
    setMaxListeners(0, this.ac.signal);
    const seg = o.ctx.layout.geometry.segmentSize;
    this.nextSegment = Math.floor(o.start / seg);
    this.lastSegment = o.end > o.start ? Math.floor((o.end - 1) / seg) : this.nextSegment - 1;
    o.stats.readersOpen++;
  }

  /** Resolves once the first bytes can be sent (or rejects with why they cannot); lets a caller fail cleanly before sending headers. */
  firstSegment(): Promise<void> {
    this.fill();
    const head = this.queue[0];
    return head ? head.segment.then(() => undefined) : Promise.resolve();
  }

  override _read(): void {
    if (!this.pumping) void this.pump();
  }

  private fill(): void {
    const ahead = Math.max(0, this.o.readAhead ?? 2);
    const source = this.o.source ?? ((i, last, signal) => fetchSegment(this.o.ctx, i, last, signal));
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
        this.queue.shift();
        this.o.stats.releaseSegment();
        this.o.stats.segmentsServed++;
        if (!this.send(seg)) return;
      }
    } catch (err) {
      if (!this.finished) this.destroy(err as Error);
    } finally {
      this.pumping = false;
    }
  }

  /** Decrypts and pushes the part of `seg` inside the range; false when the consumer wants no more for now. */
  private send(seg: VerifiedSegment): boolean {
    const from = Math.max(this.o.start, seg.start);
    const to = Math.min(this.o.end, seg.start + seg.length);
    const cursor = this.o.cipher.cursor(from);
    let ok = true;
    let offset = seg.start;
    for (const piece of seg.pieces) {
      const a = Math.max(from, offset);
      const b = Math.min(to, offset + piece.length);
      if (a < b) {
        const plain = cursor.update(piece.subarray(a - offset, b - offset));
        this.o.stats.bytesServed += plain.length;
        ok = this.push(plain);
      }
      offset += piece.length;
    }
    return ok;
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.finished) {
      this.finished = true;
      this.ac.abort(err ?? new Error('download stream closed'));
      for (let j = 0; j < this.queue.length; j++) this.o.stats.releaseSegment();
      this.queue.length = 0;
      this.o.stats.readersOpen--;
      if (err) this.o.onError?.(err);
    }
    callback(err);
  }
}
