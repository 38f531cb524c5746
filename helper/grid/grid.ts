import type { ShareGraph } from '../push/happiness.js';

export interface CallOpts {
  signal?: AbortSignal;
}

/**
 * What the helper needs from one storage server. StorageClient (storage/client.ts)
 * implements it over HTTP; keeping the contract this small lets the push logic
 * be read without the transport.
 */
export interface ShareServerClient {
  allocate(si: string, shareSize: number, shareNumbers: number[], opts?: CallOpts): Promise<{
    alreadyHave: number[];
    allocated: number[];
    missing: Record<string, [number, number][]>;
  }>;
  write(si: string, shnum: number, offset: number, data: Uint8Array, opts?: CallOpts): Promise<{ complete: boolean }>;
  list(si: string, opts?: CallOpts): Promise<number[]>;
  read(si: string, shnum: number, start: number, end: number, opts?: CallOpts): Promise<Uint8Array>;
}

export interface GridServer {
  /** Stable server id (from the server's info), used in share maps. */
  id: string;
  url: string;
  client: ShareServerClient;
}

export interface ShareSurvey {
  existing: ShareGraph;
  /** Servers that answered. */
  reachable: GridServer[];
  /** Servers that did not, with why. */
  unreachable: { server: GridServer; error: string }[];
}

/** Asks every server which shares of `si` it holds (in parallel, each bounded by `timeoutMs`). */
export async function surveyShares(servers: GridServer[], si: string, timeoutMs = 10_000): Promise<ShareSurvey> {
  const existing: ShareGraph = new Map();
  const reachable: GridServer[] = [];
  const unreachable: { server: GridServer; error: string }[] = [];
  await Promise.all(
    servers.map(async (server) => {
      try {
        const shnums = await server.client.list(si, { signal: AbortSignal.timeout(timeoutMs) });
        reachable.push(server);
        for (const s of shnums) {
          if (!existing.has(s)) existing.set(s, new Set());
          existing.get(s)!.add(server.id);
        }
      } catch (err) {
        unreachable.push({ server, error: err instanceof Error ? err.message : String(err) });
      }
    }),
  );
  // Keep the configured order: it is the preference order for placement.
  reachable.sort((a, b) => servers.indexOf(a) - servers.indexOf(b));
  return { existing, reachable, unreachable };
}

export function shareMapOf(graph: ShareGraph): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [s, set] of [...graph].sort((a, b) => a[0] - b[0])) out[String(s)] = [...set].sort();
  return out;
}
