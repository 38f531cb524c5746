import type { GridClient, GridServer } from './grid.js';

export interface StorageEndpoint {
  url: string;
  token: string;
}

export type ClientFactory = (endpoint: StorageEndpoint) => GridClient;

export interface ServerHealth {
  url: string;
  id?: string;
  reachable: boolean;
  latencyMs?: number;
  availableSpace?: number;
  lastError?: string;
  checkedAt?: number;
}

/**
 * The configured storage servers. A server's id comes from its own info
 * route (it is stable across its restarts); a server that has not answered
 * yet is asked again each time the list is needed.
 */
export class GridDirectory {
  private entries: { endpoint: StorageEndpoint; client: GridClient; health: ServerHealth }[];

  constructor(
    endpoints: StorageEndpoint[],
    private readonly factory: ClientFactory,
  ) {
    this.entries = endpoints.map((endpoint) => this.entry(endpoint));
  }

  private entry(endpoint: StorageEndpoint) {
    return { endpoint, client: this.factory(endpoint), health: { url: endpoint.url, reachable: false } as ServerHealth };
  }

  /**
   * Replaces the list (a config reload). Servers that stay keep their client
   * and health; a removed one's client closes once its requests in flight
   * are done (jobs pushing to it right now finish or retry). A changed token
   * is a new client for the same URL.
   */
  update(endpoints: StorageEndpoint[]): { added: string[]; removed: string[]; retokened: string[] } {
    const old = new Map(this.entries.map((e) => [e.endpoint.url, e]));
    const next = endpoints.map((endpoint) => {
      const e = old.get(endpoint.url);
      return e && e.endpoint.token === endpoint.token ? e : this.entry(endpoint);
    });
    const kept = new Set(next);
    const closing = this.entries.filter((e) => !kept.has(e));
    this.entries = next;
    for (const e of closing) void e.client.close().catch(() => undefined);
    const urls = new Set(endpoints.map((e) => e.url));
    return {
      added: endpoints.filter((e) => !old.has(e.url)).map((e) => e.url),
      removed: [...old.keys()].filter((url) => !urls.has(url)),
      retokened: endpoints.filter((e) => old.has(e.url) && old.get(e.url)!.endpoint.token !== e.token).map((e) => e.url),
    };
  }

  /** Probes every server (info), updating health; returns the servers that answered. */
  async probe(timeoutMs = 5_000): Promise<GridServer[]> {
    await Promise.all(
      this.entries.map(async (e) => {
        const t0 = performance.now();
        try {
          const info = await e.client.info({ signal: AbortSignal.timeout(timeoutMs) });
          e.health = { url: e.endpoint.url, id: info.serverId, reachable: true, latencyMs: Math.round(performance.now() - t0), availableSpace: info.availableSpace, checkedAt: Date.now() };
        } catch (err) {
          e.health = { ...e.health, reachable: false, lastError: err instanceof Error ? err.message : String(err), checkedAt: Date.now() };
        }
      }),
    );
    return this.known();
  }

  /** Servers with a known id, in configured order (whether or not they answer right now). */
  known(): GridServer[] {
    return this.entries.filter((e) => e.health.id).map((e) => ({ id: e.health.id!, url: e.endpoint.url, client: e.client }));
  }

  /** Known servers, probing first if any has never answered. */
  async servers(): Promise<GridServer[]> {
    if (this.entries.some((e) => !e.health.id)) await this.probe();
    return this.known();
  }

  health(): ServerHealth[] {
    return this.entries.map((e) => ({ ...e.health }));
  }

  get size(): number {
    return this.entries.length;
  }

  async close(): Promise<void> {
    await Promise.all(this.entries.map((e) => e.client.close()));
  }
}
