/**
 * The gateway's numbers. The in-flight gauges are plain fields, bumped where
 * things start and end (the leak tests check they all return to 0). Totals
 * are not counted here by the code that does the work: it publishes
 * `ferry:grid:*` and `ferry:gateway:*` events (helper/diagnostics.ts), and
 * GatewayStats adds up those of its own gateway, for the tests and the
 * benchmark; metrics and the admin page subscribe the same way.
 */
import { subscribe, type EventSource } from '../diagnostics.js';
import type { IoGauges } from '../grid/io.js';

export class GatewayStats implements IoGauges {
  // ---- gauges: must all be 0 when no download is running ----
  /** Share reads sent to a storage server and not yet settled (body fully read or aborted). */
  shareReadsInFlight = 0;
  /** Per-read timeout timers armed and not yet cleared. */
  timersArmed = 0;
  /** Plaintext readers (one per response or multipart part) not yet destroyed. */
  readersOpen = 0;
  /** Segments fetched or being fetched and not yet handed to the HTTP response. */
  segmentsHeld = 0;
  /** Highest `segmentsHeld` seen (memory bound check). */
  segmentsHeldPeak = 0;
  /** Most block bytes one download had read ahead of what it asked for (bounded by settings.readAheadBytes). */
  readAheadBytesPeak = 0;

  // ---- totals, from events ----
  requests = 0;
  shareReads = 0;
  /** Bytes received from storage servers (blocks, hash nodes, UEBs, headers). */
  bytesFromStorage = 0;
  segmentsServed = 0;
  /** A share read that failed (error, timeout, bad hash) and was replaced by another share. */
  shareFailures = 0;
  /** Corruption reports sent to storage servers. */
  corruptionReports = 0;
  locates = 0;
  locateCacheHits = 0;
  bytesServed = 0;
  /** Responses cut after their headers were sent. */
  responsesCut = 0;

  private readonly unsubscribe: (() => void)[];

  constructor(source: EventSource) {
    this.unsubscribe = [
      subscribe('ferry:gateway:request', source, () => this.requests++),
      subscribe('ferry:grid:read', source, (e) => {
        this.shareReads++;
        this.bytesFromStorage += e.bytes;
      }),
      subscribe('ferry:gateway:served', source, (e) => {
        this.bytesServed += e.bytes;
        this.segmentsServed += e.segments;
      }),
      subscribe('ferry:gateway:share-failure', source, () => this.shareFailures++),
      subscribe('ferry:grid:corruption-report', source, () => this.corruptionReports++),
      subscribe('ferry:gateway:locate', source, (e) => {
        if (e.cached) this.locateCacheHits++;
        else this.locates++;
      }),
      subscribe('ferry:gateway:cut', source, () => this.responsesCut++),
    ];
  }

  holdSegment(): void {
    this.segmentsHeld++;
    if (this.segmentsHeld > this.segmentsHeldPeak) this.segmentsHeldPeak = this.segmentsHeld;
  }

  noteReadAhead(bytes: number): void {
    if (bytes > this.readAheadBytesPeak) this.readAheadBytesPeak = bytes;
  }

  releaseSegment(): void {
    this.segmentsHeld--;
  }

  /** True when nothing is in flight: no share read, timer, reader or buffered segment. */
  get idle(): boolean {
    return this.shareReadsInFlight === 0 && this.timersArmed === 0 && this.readersOpen === 0 && this.segmentsHeld === 0;
  }

  snapshot(): Record<string, number> {
    const { unsubscribe: _, ...fields } = this;
    return fields as unknown as Record<string, number>;
  }

  /** Stops counting (the gateway is closed). */
  close(): void {
    for (const off of this.unsubscribe) off();
  }
}
