import type { Logger } from '../../runtime/log.js';
import type { GridDirectory } from '../grid/directory.js';
import type { HelperCounters } from './counters.js';

/** A server's last error older than this is no longer shown as current (it stays as `previousError`). */
export const STALE_SERVER_ERROR_MS = 10 * 60_000;

/**
 * Probes the storage servers periodically (info: reachable, latency, free
 * space) so the admin server table is current even while no job runs. A
 * server's last error is kept, with its time, after it recovers.
 */
export class ServerProber {
  private readonly lastErrors = new Map<string, { message: string; at: number }>();
  private timer: NodeJS.Timeout | undefined;
  private probing: Promise<void> | undefined;

  constructor(
    private readonly grid: GridDirectory,
    private readonly counters: Pick<HelperCounters, 'perServer'>,
    private readonly intervalMs: number,
    private readonly log: Logger,
    private readonly staleAfterMs = STALE_SERVER_ERROR_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts the periodic probe (an interval of 0 turns it off). */
  start(): void {
    if (this.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.probe(), Math.max(1_000, this.intervalMs));
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Probes every server now; concurrent calls share one probe. */
  probe(): Promise<void> {
    this.probing ??= (async () => {
      try {
        await this.grid.probe();
      } catch (err) {
        this.log.warn({ err }, 'probing storage servers failed');
      }
      this.remember();
    })().finally(() => {
      this.probing = undefined;
    });
    return this.probing;
  }

  private remember(): void {
    for (const h of this.grid.health()) {
      if (!h.reachable && h.lastError) this.lastErrors.set(h.url, { message: h.lastError, at: h.checkedAt ?? this.now() });
    }
  }

  /** The server table: health from the last probe, last error, and what finished jobs pushed to each. */
  servers() {
    this.remember();
    const now = this.now();
    return this.grid.health().map((h) => {
      const pushed = h.id ? this.counters.perServer.get(h.id) : undefined;
      const kept = this.lastErrors.get(h.url);
      // An unreachable server's error is refreshed by every probe; a recovered one's ages out.
      const stale = kept !== undefined && now - kept.at >= this.staleAfterMs;
      const last = stale ? undefined : kept;
      return {
        url: h.url,
        id: h.id ?? null,
        reachable: h.reachable,
        latencyMs: h.latencyMs ?? null,
        availableSpace: h.availableSpace ?? null,
        checkedAt: h.checkedAt ?? null,
        lastError: last?.message ?? null,
        lastErrorAt: last?.at ?? null,
        previousError: stale ? { message: kept.message, at: kept.at } : null,
        sharesPushed: pushed?.shares ?? 0,
        bytesPushed: pushed?.bytes ?? 0,
      };
    });
  }
}
