/**
 * Servers-of-happiness (Tahoe's docs/specs/servers-of-happiness.rst):
 * happiness is the size of a maximum matching in the bipartite graph of
 * servers and the shares they hold, i.e. the largest number of servers that
 * each hold a distinct share. A file with happiness h survives the loss of
 * any h-k servers' worth of matched shares.
 */

import type { ShareGraph } from '../grid/grid.js';

export type { ShareGraph };

/** Maximum bipartite matching (augmenting paths; n <= 256 shares). Returns shnum -> server. */
export function maximumMatching(graph: ShareGraph): Map<number, string> {
  const serverOf = new Map<number, string>();
  const shareOf = new Map<string, number>();
  const tryShare = (share: number, seen: Set<string>): boolean => {
    for (const server of graph.get(share) ?? []) {
      if (seen.has(server)) continue;
      seen.add(server);
      const other = shareOf.get(server);
      if (other === undefined || tryShare(other, seen)) {
        serverOf.set(share, server);
        shareOf.set(server, share);
        return true;
      }
    }
    return false;
  };
  for (const share of [...graph.keys()].sort((a, b) => a - b)) tryShare(share, new Set());
  return serverOf;
}

export function happinessOf(graph: ShareGraph): number {
  return maximumMatching(graph).size;
}

export interface PlacementInput {
  n: number;
  /** Servers that can accept new shares, most preferred first. */
  writable: string[];
  /** Shares already stored: shnum -> servers. */
  existing: ShareGraph;
  /** Placements already decided (e.g. persisted before a restart) to keep if their server is still writable. */
  keep?: Map<number, string>;
}

export interface Placement {
  /** New shares to push: shnum -> server. */
  push: Map<number, string>;
  /** Shares already in place and counted. */
  existing: ShareGraph;
  happiness: number;
}

/**
 * Tahoe's upload strategy: first match existing shares to servers, then give
 * every server that still holds nothing one of the shares nobody matched,
 * then spread whatever shares are stored nowhere over the least-loaded
 * writable servers. Shares already stored anywhere are never pushed again.
 */
export function placeShares(input: PlacementInput): Placement {
  const { n, writable } = input;
  const existing: ShareGraph = new Map([...input.existing].map(([s, set]) => [s, new Set(set)]));
  const push = new Map<number, string>();
  const writableSet = new Set(writable);

  for (const [s, server] of input.keep ?? []) {
    if (writableSet.has(server) && !existing.has(s)) push.set(s, server);
  }
  const graph = (): ShareGraph => {
    const g: ShareGraph = new Map([...existing].map(([s, set]) => [s, new Set(set)]));
    for (const [s, server] of push) g.set(s, new Set([...(g.get(s) ?? []), server]));
    return g;
  };

  const matched = maximumMatching(graph());
  const usedServers = new Set(matched.values());
  const freeServers = writable.filter((w) => !usedServers.has(w) && ![...push.values()].includes(w));
  // Shares not yet stored anywhere, then shares stored but not matched (a second copy raises happiness).
  const unplaced = range(n).filter((s) => !existing.has(s) && !push.has(s));
  const unmatched = range(n).filter((s) => existing.has(s) && !matched.has(s) && !push.has(s));
  for (const s of [...unplaced, ...unmatched]) {
    const server = freeServers.shift();
    if (server === undefined) break;
    push.set(s, server);
  }
  // Whatever is still stored nowhere goes to the least-loaded writable servers.
  const load = new Map<string, number>(writable.map((w) => [w, 0]));
  for (const [, set] of graph()) for (const w of set) if (load.has(w)) load.set(w, (load.get(w) ?? 0) + 1);
  for (const s of range(n)) {
    if (existing.has(s) || push.has(s) || writable.length === 0) continue;
    const server = [...load.entries()].sort((a, b) => a[1] - b[1] || writable.indexOf(a[0]) - writable.indexOf(b[0]))[0][0];
    push.set(s, server);
    load.set(server, (load.get(server) ?? 0) + 1);
  }
  return { push, existing, happiness: happinessOf(graph()) };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
