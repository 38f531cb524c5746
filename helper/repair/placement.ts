/**
 * Where regenerated shares go: servers-of-happiness as for uploads
 * (helper/push/happiness.ts, Tahoe's strategy: match existing shares to
 * servers, give every server that holds nothing one unmatched share, spread
 * what is left over the least-loaded servers), with one more rule a repair
 * needs: a server that already holds a copy of share s (a good one, or a bad
 * one that the storage API cannot replace) never gets s again. Servers that
 * hold no share of the file come first in `writable`, so new shares land on
 * new servers.
 */
import { happinessOf, maximumMatching, type Placement, type ShareGraph } from '../push/happiness.js';

export interface RepairPlacementInput {
  n: number;
  /** Servers that can take shares, most preferred first. */
  writable: string[];
  /** Good copies: shnum -> servers. */
  existing: ShareGraph;
  /** Every listed copy, good or bad: shnum -> servers (these pairs cannot be written). */
  occupied: ShareGraph;
  /** Placements decided before (persisted before a restart), kept while still allowed. */
  keep?: Map<number, string>;
}

export function placeRepair(input: RepairPlacementInput): Placement {
  const { n, writable } = input;
  const existing: ShareGraph = new Map([...input.existing].map(([s, set]) => [s, new Set(set)]));
  const writableSet = new Set(writable);
  const push = new Map<number, string>();
  const allowed = (s: number, w: string) => !input.occupied.get(s)?.has(w) && !existing.get(s)?.has(w);

  for (const [s, w] of input.keep ?? []) {
    if (s >= 0 && s < n && writableSet.has(w) && !existing.has(s) && allowed(s, w)) push.set(s, w);
  }
  const graph = (): ShareGraph => {
    const g: ShareGraph = new Map([...existing].map(([s, set]) => [s, new Set(set)]));
    for (const [s, w] of push) g.set(s, new Set([...(g.get(s) ?? []), w]));
    return g;
  };

  const matched = maximumMatching(graph());
  const used = new Set([...matched.values(), ...push.values()]);
  const free = writable.filter((w) => !used.has(w));
  const unplaced = range(n).filter((s) => !existing.has(s) && !push.has(s));
  const unmatched = range(n).filter((s) => existing.has(s) && !matched.has(s) && !push.has(s));
  for (const s of [...unplaced, ...unmatched]) {
    const i = free.findIndex((w) => allowed(s, w));
    if (i < 0) continue;
    push.set(s, free.splice(i, 1)[0]);
  }
  // Whatever is still stored nowhere goes to the least-loaded server allowed to take it.
  const load = new Map<string, number>(writable.map((w) => [w, 0]));
  for (const [, set] of graph()) for (const w of set) if (load.has(w)) load.set(w, load.get(w)! + 1);
  for (const s of range(n)) {
    if (existing.has(s) || push.has(s)) continue;
    const candidates = writable.filter((w) => allowed(s, w));
    if (candidates.length === 0) continue;
    const w = candidates.reduce((best, c) => (load.get(c)! < load.get(best)! ? c : best));
    push.set(s, w);
    load.set(w, load.get(w)! + 1);
  }
  return { push, existing, happiness: happinessOf(graph()) };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
