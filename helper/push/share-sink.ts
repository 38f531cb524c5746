import type { GridServer } from '../grid/grid.js';

export type Interval = [start: number, end: number];

/**
 * Buffered, resumable writer of one share to one storage server. Only bytes
 * in the server's missing intervals are sent, so a job restarted after a
 * crash pushes nothing the server already holds. Contiguous appends are
 * coalesced into writes of `flushBytes`.
 */
export class ShareSink {
  private pending: Uint8Array[] = [];
  private pendingStart = 0;
  private pendingBytes = 0;
  private inFlight: Promise<void>[] = [];
  private readonly maxInFlight = 2;
  bytesPushed = 0;
  complete = false;

  constructor(
    readonly server: GridServer,
    readonly si: string,
    readonly shnum: number,
    private readonly missing: Interval[],
    private readonly onPushed: (bytes: number) => void,
    private readonly flushBytes = 2 * 1024 * 1024,
    private readonly signal?: AbortSignal,
  ) {
    this.missing = [...missing].sort((a, b) => a[0] - b[0]);
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
      await this.buffer(lo, data.subarray(lo - offset, hi - offset), owned);
    }
  }

  private async buffer(offset: number, part: Uint8Array, owned: boolean): Promise<void> {
    if (this.pendingBytes && offset !== this.pendingStart + this.pendingBytes) await this.flush();
    if (!this.pendingBytes) this.pendingStart = offset;
    // Unless owned, a copy: blocks may be views of buffers the codec and the
    // spool reader reuse (and Buffer#slice would not copy).
    this.pending.push(owned ? part : new Uint8Array(part));
    this.pendingBytes += part.length;
    if (this.pendingBytes >= this.flushBytes) await this.flush();
  }

  /** Sends what is buffered; up to `maxInFlight` writes overlap so coding never waits on one round trip. */
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
    while (this.inFlight.length > this.maxInFlight) await this.inFlight.shift();
  }

  /** Flushes and waits for every write to be acknowledged. */
  async finish(): Promise<void> {
    await this.flush();
    while (this.inFlight.length) await this.inFlight.shift();
  }
}
