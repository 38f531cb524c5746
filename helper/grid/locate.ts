/**
 * Which servers hold which shares of a storage index: every server is asked
 * for its list, in parallel, each call bounded by a timeout.
 */
import { listShares, type GridIo } from './io.js';
import { addEdge, messageOf, type GridServer, type ShareCopy, type ShareGraph } from './grid.js';

export interface ShareSurvey {
  /** shnum -> ids of the servers that list it (complete shares only). */
  existing: ShareGraph;
  /** Every listed copy, by share number, then in configured server order. */
  copies: ShareCopy[];
  /** Servers that answered, in configured order (the preference order for placement). */
  reachable: GridServer[];
  /** Servers that did not, with why. */
  unreachable: { server: GridServer; error: string }[];
}

/** Asks every server which shares of `si` it holds. Never rejects: silent servers are listed in `unreachable`. */
export async function surveyShares(servers: GridServer[], si: string, io: GridIo = { timeoutMs: 10_000 }): Promise<ShareSurvey> {
  const existing: ShareGraph = new Map();
  const reachable: GridServer[] = [];
  const unreachable: { server: GridServer; error: string }[] = [];
  await Promise.all(
    servers.map(async (server) => {
      try {
        const shnums = await listShares(io, server, si);
        reachable.push(server);
        for (const s of shnums) addEdge(existing, s, server.id);
      } catch (err) {
        unreachable.push({ server, error: messageOf(err) });
      }
    }),
  );
  reachable.sort((a, b) => servers.indexOf(a) - servers.indexOf(b));
  const copies: ShareCopy[] = [];
  for (const shnum of [...existing.keys()].sort((a, b) => a - b)) {
    for (const server of reachable) if (existing.get(shnum)!.has(server.id)) copies.push({ shnum, server });
  }
  return { existing, copies, reachable, unreachable };
}
