/** How many recent seconds "the current rate" looks at. */
export const CURRENT_RATE_SECONDS = 5;

/** The three byte flows of the helper whose rates the admin overview shows. */
const FLOWS = ['received', 'encoded', 'pushed'] as const;
export type Flow = (typeof FLOWS)[number];

/**
 * Per-second byte counts of the last `windowSeconds` seconds, in a ring
 * buffer, for "throughput over the last minute". Slots carry the second they
 * count, so a slot left over from a previous lap is never mistaken for a
 * recent one.
 */
export class ThroughputTracker {
  private readonly seconds: Float64Array;
  private readonly counts: Record<Flow, Float64Array>;
  private readonly totals: Record<Flow, number> = { received: 0, encoded: 0, pushed: 0 };
  private readonly since: number;

  constructor(
    readonly windowSeconds = 60,
    private readonly now: () => number = Date.now,
  ) {
    this.seconds = new Float64Array(windowSeconds).fill(-1);
    this.counts = { received: new Float64Array(windowSeconds), encoded: new Float64Array(windowSeconds), pushed: new Float64Array(windowSeconds) };
    this.since = now();
  }

  add(flow: Flow, bytes: number): void {
    if (!(bytes > 0)) return;
    const second = Math.floor(this.now() / 1000);
    const slot = second % this.windowSeconds;
    if (this.seconds[slot] !== second) {
      this.seconds[slot] = second;
      for (const f of FLOWS) this.counts[f][slot] = 0;
    }
    this.counts[flow][slot] += bytes;
    this.totals[flow] += bytes;
  }

  /** Bytes per second of each flow over the window (over the time since start while that is shorter). */
  rates(): Record<Flow, number> & { windowSeconds: number } {
    const now = this.now();
    const current = Math.floor(now / 1000);
    const span = Math.max(1, Math.min(this.windowSeconds, (now - this.since) / 1000));
    const out = { received: 0, encoded: 0, pushed: 0, windowSeconds: this.windowSeconds };
    for (let slot = 0; slot < this.windowSeconds; slot++) {
      const s = this.seconds[slot];
      if (s < 0 || current - s >= this.windowSeconds) continue;
      for (const f of FLOWS) out[f] += this.counts[f][slot];
    }
    for (const f of FLOWS) out[f] = Math.round(out[f] / span);
    return out;
  }

  /**
   * The current rate: bytes of the last `seconds` seconds, divided by the time
   * since the first of those seconds that saw bytes (at least one second), so a
   * short burst shows its own speed instead of being spread over the window.
   */
  current(seconds = CURRENT_RATE_SECONDS): Record<Flow, number> & { windowSeconds: number } {
    const now = this.now();
    const current = Math.floor(now / 1000);
    const span = Math.min(seconds, this.windowSeconds);
    const out = { received: 0, encoded: 0, pushed: 0, windowSeconds: span };
    let first = current;
    for (let slot = 0; slot < this.windowSeconds; slot++) {
      const s = this.seconds[slot];
      if (s < 0 || current - s >= span) continue;
      let any = false;
      for (const f of FLOWS) {
        out[f] += this.counts[f][slot];
        any ||= this.counts[f][slot] > 0;
      }
      if (any) first = Math.min(first, s);
    }
    const elapsed = Math.max(1, (now - first * 1000) / 1000);
    for (const f of FLOWS) out[f] = Math.round(out[f] / elapsed);
    return out;
  }

  /** Bytes of each flow seen since the tracker started. */
  total(flow: Flow): number {
    return this.totals[flow];
  }
}
