/**
 * Counters for the download gateway. Plain numbers, cheap to bump, read by the
 * leak tests (every gauge returns to 0 once requests are over), the benchmark
 * (bytes read from storage per request) and, later, the admin/metrics pages.
 */
export class GatewayStats {
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

  // ---- totals ----
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

  holdSegment(): void {
    this.segmentsHeld++;
    if (this.segmentsHeld > this.segmentsHeldPeak) this.segmentsHeldPeak = this.segmentsHeld;
  }

  releaseSegment(): void {
    this.segmentsHeld--;
  }

  /** True when nothing is in flight: no share read, timer, reader or buffered segment. */
  get idle(): boolean {
    return this.shareReadsInFlight === 0 && this.timersArmed === 0 && this.readersOpen === 0 && this.segmentsHeld === 0;
  }

  snapshot(): Record<string, number> {
    return { ...this } as unknown as Record<string, number>;
  }
}
