/**
 * Which servers hold which shares of a storage index: every server is asked
 * (`list`) in parallel, and the answer is cached briefly so that the many
 * range requests a download manager or a media player sends do not each pay a
 * round of lists. Concurrent lookups of one storage index share one round.
 */
import { listShares, type GatewayServer, type IoOptions } from './storage-io.js';

export interface ShareLocation {
  shnum: number;
  server: GatewayServer;
}

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
  io: IoOptions;
  /** The storage servers, as currently known. */
  servers: () => GatewayServer[];
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
      this.o.io.stats.locateCacheHits++;
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
    this.o.io.stats.locates++;
    const servers = this.o.servers();
    const shares: ShareLocation[] = [];
    const failed: { url: string; error: string }[] = [];
    await Promise.all(
      servers.map(async (server) => {
        try {
          for (const shnum of await listShares(this.o.io, server, si)) shares.push({ shnum, server });
        } catch (err) {
          failed.push({ url: server.url, error: err instanceof Error ? err.message : String(err) });
        }
      }),
    );
    return { shares, distinct: new Set(shares.map((s) => s.shnum)).size, asked: servers.length, failed };
  }
}
