import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { GridServer } from '../grid/grid.js';

export type Interval = [start: number, end: number];

/** An open streamed write: bytes [start, end) of the share, `next` the next byte it takes. */
interface Window {
  body: PassThrough;
  next: number;
  end: number;
  done: Promise<void>;
}

/**
 * Bytes a streamed window's body buffers before the sink waits for the
 * socket (once on each side of the pass-through): with WRITES_IN_FLIGHT,
 * what one share being pushed holds in memory besides the socket's own buffer.
 */
export const WINDOW_BODY_BUFFER_BYTES = 1024 * 1024;

/** Writes (streamed windows or gathered flushes) one share has in flight before the next waits. */
export const WRITES_IN_FLIGHT = 2;

/** Why a window is cut short: its write then fails and nothing of it counts on the server. */
class WindowAbandoned extends Error {
  constructor() {
    super('share write abandoned before its body was complete');
    this.name = 'AbortError';
  }
}

export interface ShareSinkOptions {
  /** Bytes gathered before one buffered write (headers, trailers, anything past `streamEnd`). */
  flushBytes?: number;
  /**
   * Bytes in [start, end) (the blocks) are streamed: one write per
   * `windowBytes` whose body is sent as the blocks are coded, so the server
   * fsyncs and records progress once per window, and nothing is held here.
   */
  streamed?: { start: number; end: number };
  windowBytes?: number;
  signal?: AbortSignal;
}

/**
 * Resumable writer of one share to one storage server. Only bytes in the
 * server's missing intervals are sent, so a job restarted after a crash
 * pushes nothing the server already holds. Blocks stream in large windows;
 * other contiguous appends are coalesced into writes of `flushBytes`.
 */
export class ShareSink {
  private pending: Uint8Array[] = [];
  private pendingStart = 0;
  private pendingBytes = 0;
  private inFlight: Promise<void>[] = [];
  private window: Window | undefined;
  private readonly flushBytes: number;
  private readonly streamStart: number;
  private readonly streamEnd: number;
  private readonly windowBytes: number;
  private readonly signal: AbortSignal | undefined;
  bytesPushed = 0;
  complete = false;

  constructor(
    readonly server: GridServer,
    readonly si: string,
    readonly shnum: number,
    private readonly missing: Interval[],
    private readonly onPushed: (bytes: number) => void,
    o: ShareSinkOptions = {},
  ) {
    this.missing = [...missing].sort((a, b) => a[0] - b[0]);
    this.flushBytes = o.flushBytes ?? 2 * 1024 * 1024;
    this.streamStart = o.streamed?.start ?? 0;
    this.streamEnd = o.streamed?.end ?? 0;
    this.windowBytes = o.windowBytes ?? 16 * 1024 * 1024;
    this.signal = o.signal;
  }

  /** Bytes this sink still has to send for the whole share. */
  get remaining(): number {
    return this.missing.reduce((sum, [a, b]) => sum + (b - a), 0);
  }

  /** `owned`: nobody else writes to `data` any more, so it is kept without a copy. */
  async write(offset: number, data: Uint8Array, owned = false): Promise<void> {
    const end = offset + data.length;
    for (const [a, b] of this.missing) {
      if (b <= offset) continue;
      if (a >= end) break;
      const lo = Math.max(a, offset);
      const hi = Math.min(b, end);
      // Unless owned, a copy: blocks may be views of buffers the codec and the
      // spool reader reuse (and Buffer#slice would not copy).
      const part = owned ? data.subarray(lo - offset, hi - offset) : new Uint8Array(data.subarray(lo - offset, hi - offset));
      if (lo >= this.streamStart && hi <= this.streamEnd) await this.stream(lo, part, Math.min(b, this.streamEnd));
      else await this.buffer(lo, part);
    }
  }

  private async buffer(offset: number, part: Uint8Array): Promise<void> {
    if (this.pendingBytes && offset !== this.pendingStart + this.pendingBytes) await this.flush();
    if (!this.pendingBytes) this.pendingStart = offset;
    this.pending.push(part);
    this.pendingBytes += part.length;
    if (this.pendingBytes >= this.flushBytes) await this.flush();
  }

  /** Appends `part` at `offset` to the open window, opening one (up to `limit`) when none is. */
  private async stream(offset: number, part: Uint8Array, limit: number): Promise<void> {
    while (part.length > 0) {
      if (this.window && this.window.next !== offset) throw new Error(`share ${this.shnum}: streamed write at ${offset}, window expects ${this.window.next}`);
      const w = this.window ?? (this.window = this.open(offset, Math.min(offset + this.windowBytes, limit)));
      const take = Math.min(part.length, w.end - offset);
      const piece = part.subarray(0, take);
      w.next += take;
      offset += take;
      part = part.subarray(take);
      if (w.next === w.end) {
        w.body.end(piece);
        this.window = undefined;
        this.inFlight.push(w.done);
        while (this.inFlight.length > WRITES_IN_FLIGHT) await this.inFlight.shift();
      } else if (!w.body.write(piece)) {
        // Backpressure: wait for the socket, or for the write to fail.
        await Promise.race([once(w.body, 'drain'), w.done]);
      }
    }
  }

  private open(start: number, end: number): Window {
    const body = new PassThrough({ highWaterMark: WINDOW_BODY_BUFFER_BYTES });
    const length = end - start;
    const done = this.server.client.write(this.si, this.shnum, start, { stream: body, length }, { signal: this.signal }).then((res) => {
      this.bytesPushed += length;
      this.onPushed(length);
      if (res.complete) this.complete = true;
    });
    done.catch(() => body.destroy()); // surfaced when awaited; never an unhandled rejection
    return { body, next: start, end, done };
  }

  /** Sends what is buffered; up to WRITES_IN_FLIGHT writes overlap so coding never waits on one round trip. */
  async flush(): Promise<void> {
    if (this.pendingBytes) {
      const body = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
      const start = this.pendingStart;
      this.pending = [];
      this.pendingBytes = 0;
      const write = this.server.client.write(this.si, this.shnum, start, body, { signal: this.signal }).then((res) => {
        this.bytesPushed += body.length;
        this.onPushed(body.length);
        if (res.complete) this.complete = true;
      });
      write.catch(() => undefined); // surfaced when awaited below; never an unhandled rejection
      this.inFlight.push(write);
    }
    while (this.inFlight.length > WRITES_IN_FLIGHT) await this.inFlight.shift();
  }

  /** Flushes and waits for every write to be acknowledged. A window left unfilled fails it. */
  async finish(): Promise<void> {
    if (this.window) {
      this.abandon();
      throw new Error(`share ${this.shnum}: streamed write ended before its window was filled`);
    }
    await this.flush();
    while (this.inFlight.length) await this.inFlight.shift();
  }

  /** Cuts an open window short (the push failed elsewhere): the server then keeps none of it. */
  abandon(): void {
    const w = this.window;
    this.window = undefined;
    w?.body.destroy(new WindowAbandoned());
  }
}
