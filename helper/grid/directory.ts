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
  private readonly entries: { endpoint: StorageEndpoint; client: GridClient; health: ServerHealth }[];

  constructor(endpoints: StorageEndpoint[], factory: ClientFactory) {
    this.entries = endpoints.map((endpoint) => ({ endpoint, client: factory(endpoint), health: { url: endpoint.url, reachable: false } }));
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
