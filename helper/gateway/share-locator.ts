/**
 * Which servers hold which shares of a storage index: every server is asked
 * (`list`) in parallel, and the answer is cached briefly so that the many
 * range requests a download manager or a media player sends do not each pay a
 * round of lists. Concurrent lookups of one storage index share one round.
 */
import { publish, type EventSource } from '../diagnostics.js';
import type { GridServer, ShareCopy } from '../grid/grid.js';
import type { GridIo } from '../grid/io.js';
import { surveyShares } from '../grid/locate.js';

export type ShareLocation = ShareCopy;

export interface Located {
  /** Every (share, server) pair found, in no particular order. */
  shares: ShareLocation[];
  /** Distinct share numbers found. */
  distinct: number;
  /** Servers asked. */
  asked: number;
  /** Servers that did not answer, with why. */
  failed: { url: string; error: string }[];
}

export interface ShareLocatorOptions {
  io: GridIo;
  /** The storage servers, as currently known. */
  servers: () => GridServer[];
  /** Who the `ferry:gateway:locate` events are attributed to. */
  events: EventSource;
  /** How long an answer that found shares is reused (default 10 s). */
  ttlMs?: number;
  /** How long an answer that found nothing is reused (default 1 s: an upload may just be finishing). */
  negativeTtlMs?: number;
  /** Storage indexes remembered at most (default 1024). */
  maxEntries?: number;
  now?: () => number;
}

export class ShareLocator {
  private readonly cache = new Map<string, { at: number; answer: Promise<Located> }>();
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(private readonly o: ShareLocatorOptions) {
    this.ttlMs = o.ttlMs ?? 10_000;
    this.negativeTtlMs = o.negativeTtlMs ?? 1_000;
    this.maxEntries = o.maxEntries ?? 1024;
    this.now = o.now ?? Date.now;
  }

  /** Never rejects: unreachable servers are listed in `failed`. */
  locate(si: string): Promise<Located> {
    const t = this.now();
    const hit = this.cache.get(si);
    if (hit && t - hit.at < this.ttlMs) {
      publish('ferry:gateway:locate', this.o.events, () => ({ si, cached: true }));
      return hit.answer;
    }
    const answer = this.ask(si).then((located) => {
      // A round that found nothing (or failed somewhere) is only briefly worth keeping.
      const entry = this.cache.get(si);
      if (entry?.answer === answer && (located.distinct === 0 || located.failed.length > 0)) entry.at = this.now() - this.ttlMs + this.negativeTtlMs;
      return located;
    });
    this.cache.delete(si);
    this.cache.set(si, { at: t, answer });
    if (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    return answer;
  }

  /** Forgets what was found (e.g. after shares turned out missing). */
  invalidate(si: string): void {
    this.cache.delete(si);
  }

  private async ask(si: string): Promise<Located> {
    publish('ferry:gateway:locate', this.o.events, () => ({ si, cached: false }));
    const servers = this.o.servers();
    const survey = await surveyShares(servers, si, this.o.io);
    const failed = survey.unreachable.map((u) => ({ url: u.server.url, error: u.error }));
    return { shares: survey.copies, distinct: survey.existing.size, asked: servers.length, failed };
  }
}
