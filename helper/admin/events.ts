import type { Request, Response } from 'express';
import type { Logger } from '../../runtime/log.js';

/** A client that has this much unsent data skips updates until it catches up. */
const MAX_BUFFERED = 1024 * 1024;

/**
 * Server-Sent Events for the live page: every connected client gets a
 * `snapshot` event every `intervalMs` and soon after any job changes (at
 * most one per `minGapMs`). One snapshot is built per update and written to
 * every client.
 */
export class LiveFeed {
  private readonly clients = new Set<Response>();
  private ticker: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private building = false;
  private again = false;
  private lastSent = 0;
  private closed = false;

  constructor(
    private readonly snapshot: () => Promise<unknown>,
    private readonly log: Logger,
    private readonly o: { intervalMs?: number; minGapMs?: number; maxClients?: number } = {},
  ) {}

  get size(): number {
    return this.clients.size;
  }

  /** Every stream holds a socket and gets every snapshot: their number is capped (limits.maxLiveFeeds). */
  get full(): boolean {
    return this.clients.size >= (this.o.maxClients ?? Infinity);
  }

  attach(req: Request, res: Response): void {
    res.status(200);
    res.set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    req.socket.setNoDelay(true);
    res.write('retry: 3000\n\n');
    this.clients.add(res);
    res.on('close', () => {
      this.clients.delete(res);
      if (!this.clients.size) this.stopTicker();
    });
    this.ticker ??= setInterval(() => void this.broadcast(), this.o.intervalMs ?? 1_000);
    this.ticker.unref();
    void this.broadcast();
  }

  /** Something changed: send an update soon (coalesced). */
  changed(): void {
    if (!this.clients.size || this.soon || this.closed) return;
    const gap = this.o.minGapMs ?? 250;
    const wait = Math.max(0, this.lastSent + gap - Date.now());
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.broadcast();
    }, wait);
    this.soon.unref();
  }

  close(): void {
    this.closed = true;
    this.stopTicker();
    clearTimeout(this.soon);
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  private stopTicker(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
  }

  private async broadcast(): Promise<void> {
    if (this.closed || !this.clients.size) return;
    if (this.building) {
      this.again = true;
      return;
    }
    this.building = true;
    try {
      // JSON.stringify never emits a raw newline, so the payload is one `data:` line.
      const message = `event: snapshot\ndata: ${JSON.stringify(await this.snapshot())}\n\n`;
      for (const c of this.clients) if (c.writableLength < MAX_BUFFERED) c.write(message);
      this.lastSent = Date.now();
    } catch (err) {
      this.log.warn({ err }, 'admin live snapshot failed');
    } finally {
      this.building = false;
    }
    if (this.again) {
      this.again = false;
      this.changed();
    }
  }
}
