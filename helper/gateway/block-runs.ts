/**
 * One download's read-ahead of blocks: the blocks of consecutive segments
 * are read from a share with one range request (a "run") instead of one
 * request per block. Each storage request costs the server an open, a stat,
 * a read and a close, and both sides an HTTP exchange; per byte, serving is
 * cheap. A run never goes past the last segment the download needs, so a
 * range request reads no more than before.
 *
 * Memory is bounded by `readAheadBytes` (limits.gatewayReadAhead): the
 * bytes of blocks requested and not yet asked for, all shares together,
 * never exceed it (reported through `onAhead`). With k shares in use, each share has at most
 * two runs of readAheadBytes / (1.5 k blockSize) blocks: the one being
 * consumed and, once half of it was taken, the next one (at most 1.5 runs
 * not yet taken), so the share's server is never idle while the download
 * goes on. A run that would not fit (a share left behind still holds some
 * of the budget) is cut short. Blocks are handed out unverified: ShareReader
 * checks each against its share's tree as before.
 *
 * Block buffers are recycled: once a segment was decrypted and sent, the
 * buffers of its primary blocks come back (release()) and the next runs read
 * into them. Allocating ~k fresh buffers per segment kept the garbage
 * collector busy for about a fifth of the gateway's time.
 */
import { setMaxListeners } from 'node:events';
import { blockRange } from '../../core/share-layout.js';
import { framedBuffer, frameLength, TAGS } from '../../core/tagged-hash.js';
import { readFramedPieces, type GridIo } from '../grid/io.js';
import type { ShareCopy } from '../grid/grid.js';
import type { FileShape } from '../grid/open-file.js';

/** A share as runs read it (a ShareReader; named here so that the two modules do not import each other). */
export interface RunShare extends ShareCopy {
  readonly file: Pick<FileShape, 'si' | 'ueb' | 'layout'>;
}

interface Pending {
  promise: Promise<Buffer>;
  resolve(b: Buffer): void;
  reject(err: unknown): void;
}

interface Run {
  first: number;
  last: number;
  /** Per block of the run, until it is taken. */
  blocks: (Pending | undefined)[];
  ac: AbortController;
  settled: boolean;
  /** Blocks received so far, and taken so far (from the start: blocks are taken in order). */
  received: number;
  taken: number;
  /** No longer wanted: aborted as soon as no taken block waits for its bytes. */
  dropped: boolean;
  /** Bytes of its blocks not yet taken (counted in BlockRuns.ahead until taken or dropped). */
  ahead: number;
  lengths: number[];
}

const BLOCK_FRAMING = framedBuffer(TAGS.block, 0);

/**
 * A share not asked for a block this many segments behind the latest one
 * asked of any share was left (the download switched to a faster share):
 * its runs are aborted instead of read to their end for nothing.
 */
const ABANDON_AFTER = 8;

function pending(): Pending {
  let resolve!: (b: Buffer) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<Buffer>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // a block nobody takes must not be an unhandled rejection
  return { promise, resolve, reject };
}

export class BlockRuns {
  private readonly runs = new Map<RunShare, Run[]>();
  /** The latest segment each share was asked for. */
  private readonly asked = new Map<RunShare, number>();
  private closed = false;
  /** Framed block buffers of full-size blocks, free for the next runs. */
  private readonly free: Buffer[] = [];
  private blockSize = 0;
  /** Bytes of blocks requested and not yet asked for, all runs together; never above readAheadBytes. */
  private ahead = 0;

  constructor(
    private readonly io: GridIo,
    /** The download's: aborting it aborts every run. */
    private readonly signal: AbortSignal,
    private readonly readAheadBytes: number,
    /** Told the bytes read ahead after each block handed out (the stats keep the peak the tests check). */
    private readonly onAhead?: (bytes: number) => void,
  ) {}

  /**
   * Block `segment` of `reader`'s share, framed for hashing (unverified):
   * from a run under way, else from a new run up to `windowLast` (the last
   * segment the download will need).
   */
  framed(reader: RunShare, segment: number, windowLast: number): Promise<Buffer> {
    this.asked.set(reader, Math.max(segment, this.asked.get(reader) ?? segment));
    for (const [other, runs] of this.runs) {
      if (other === reader || (this.asked.get(other) ?? segment) >= segment - ABANDON_AFTER) continue;
      for (const r of runs) this.drop(r);
      this.runs.delete(other);
    }
    let list = this.runs.get(reader) ?? [];
    while (list.length > 0 && list[0].last < segment) this.drop(list.shift()!);
    let run = list.find((r) => r.first <= segment && segment <= r.last);
    if (!run || run.blocks[segment - run.first] === undefined) {
      // Out of order (or asked twice): whatever was read ahead is of no use.
      for (const r of list) this.drop(r);
      run = this.start(reader, segment, windowLast, true)!;
      list = [run];
    }
    this.runs.set(reader, list);
    const j = segment - run.first;
    const block = run.blocks[j]!;
    run.blocks[j] = undefined;
    run.ahead -= run.lengths[j];
    this.ahead -= run.lengths[j];
    run.taken = Math.max(run.taken, j + 1);
    const newest = list[list.length - 1];
    if (list.length < 2 && segment >= newest.first + ((newest.last - newest.first) >> 1) && newest.last < windowLast) {
      const next = this.start(reader, newest.last + 1, windowLast, false);
      if (next) list.push(next);
    }
    this.onAhead?.(this.ahead);
    return block.promise;
  }

  /**
   * Hands back the buffers behind `parts` (blocks of a segment that was sent
   * and is referenced nowhere else). Only buffers read by this object's runs
   * are taken; anything else is left to the garbage collector.
   */
  release(parts: readonly Uint8Array[]): void {
    const frame = frameLength(TAGS.block);
    for (const p of parts) {
      if (this.free.length >= this.maxFree() || p.byteOffset !== frame || p.buffer.byteLength !== frame + this.blockSize) continue;
      const b = Buffer.from(p.buffer);
      if (this.issued.delete(b.buffer)) this.free.push(b);
    }
  }

  /** Buffers this object allocated and has not got back: release() takes no other. */
  private readonly issued = new WeakSet<ArrayBufferLike>();

  private maxFree(): number {
    return Math.ceil(this.readAheadBytes / Math.max(1, this.blockSize)) + 8;
  }

  private alloc(length: number): Buffer {
    if (length !== this.blockSize) return framedBuffer(TAGS.block, length);
    let b = this.free.pop();
    if (!b) {
      // Its own ArrayBuffer (never a slice of Node's shared pool), so that it can be told apart on release.
      b = Buffer.allocUnsafeSlow(frameLength(TAGS.block) + length);
      BLOCK_FRAMING.copy(b);
    }
    this.issued.add(b.buffer);
    return b;
  }

  /** Aborts every run (the download ended). */
  close(): void {
    this.closed = true;
    this.free.length = 0;
    this.ahead = 0;
    for (const list of this.runs.values()) for (const r of list) this.drop(r);
    this.runs.clear();
  }

  /** Blocks per run: the read-ahead budget over the 1.5 runs each of the k shares in use may hold untaken (at least one block). */
  private runLength(reader: RunShare): number {
    const { ueb, layout } = reader.file;
    return Math.max(1, Math.floor(this.readAheadBytes / (1.5 * ueb.k * layout.geometry.blockSize)));
  }

  /**
   * A run of `reader`'s blocks from `first`, as long as the budget allows.
   * `asked`: block `first` is wanted now (it is taken at once, so it is not
   * read-ahead, and the run has it even when nothing else fits); otherwise
   * the run is read-ahead only and undefined when not one block fits.
   */
  private start(reader: RunShare, first: number, windowLast: number, asked: boolean): Run | undefined {
    const layout = reader.file.layout;
    this.blockSize = layout.geometry.blockSize;
    const fits = Math.floor(Math.max(0, this.readAheadBytes - this.ahead) / Math.max(1, this.blockSize));
    const length = Math.min(this.runLength(reader), (asked ? 1 : 0) + fits);
    if (length < 1) return undefined;
    const last = Math.min(layout.geometry.numSegments - 1, Math.max(first, windowLast), first + length - 1);
    const ac = new AbortController();
    setMaxListeners(0, ac.signal);
    const lengths: number[] = [];
    const run: Run = { first, last, blocks: [], ac, settled: false, received: 0, taken: 0, dropped: false, ahead: 0, lengths };
    for (let i = first; i <= last; i++) {
      run.blocks.push(pending());
      lengths.push(blockRange(layout, i).length);
      run.ahead += lengths[lengths.length - 1];
    }
    this.ahead += run.ahead;
    const parts = run.blocks.slice(); // the run settles every block, taken or not
    const onAbort = () => ac.abort(this.signal.reason);
    if (this.closed || this.signal.aborted) ac.abort(this.signal.reason);
    else this.signal.addEventListener('abort', onAbort, { once: true });
    readFramedPieces({ ...this.io, signal: ac.signal }, reader, reader.file.si, blockRange(layout, first).offset, lengths, TAGS.block, (j, framed) => {
      parts[j]!.resolve(framed);
      run.received = j + 1;
      if (run.dropped) this.abortIdle(run);
    }, (length) => this.alloc(length))
      .catch((err: unknown) => {
        for (const p of parts) p!.reject(err);
        // A failed run is forgotten: the share's next use (after its rest) starts afresh.
        this.forget(run);
        const list = this.runs.get(reader);
        if (list?.includes(run)) this.runs.set(reader, list.filter((r) => r !== run));
      })
      .finally(() => {
        run.settled = true;
        this.signal.removeEventListener('abort', onAbort);
      });
    return run;
  }

  /** Forgets a run; its read is aborted, but not under a block someone took and waits for. */
  private drop(run: Run): void {
    run.blocks.length = 0;
    run.dropped = true;
    this.forget(run);
    this.abortIdle(run);
  }

  /** Its untaken blocks no longer count as read ahead (they will never be taken). */
  private forget(run: Run): void {
    this.ahead -= run.ahead;
    run.ahead = 0;
  }

  /**
   * A run whose blocks all arrived is left to end by itself: aborting it
   * between its last byte and the end of the response threw its connection
   * away (a new TLS handshake for the next request) and counted it as failed.
   */
  private abortIdle(run: Run): void {
    if (!run.settled && run.received >= run.taken && run.received < run.lengths.length) run.ac.abort(new Error('read-ahead no longer needed'));
  }
}
