/**
 * Where a V8 CPU profile's time went: self time by function (top N) and by
 * area (Ferry's folders, node internals, dependencies, GC, idle).
 *
 *   node dist/bench/profile-summary.js FILE.cpuprofile [--top 25]
 */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  /** Busy time: everything except "(idle)". */
  busyMs: number;
  byArea: { area: string; ms: number }[];
  byFunction: { fn: string; area: string; ms: number }[];
}

/** The area a frame belongs to: a Ferry folder (core, helper, …), node's internals, a dependency, or V8's own. */
export function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node';
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dep) return `dep:${dep[1]}`;
  const own = /\/dist\/([^/]+)\//.exec(url) ?? /\/(core|runtime|storage|helper|client|cli|bench|bin)\//.exec(url);
  return own ? own[1] : url;
}

export function summarise(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const areas = new Map<string, number>();
  const functions = new Map<string, { fn: string; area: string; ms: number }>();
  let total = 0;
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame;
    const area = areaOf(frame.url, frame.functionName);
    const ms = us / 1000;
    total += ms;
    areas.set(area, (areas.get(area) ?? 0) + ms);
    const key = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
    const entry = functions.get(key) ?? { fn: key, area, ms: 0 };
    entry.ms += ms;
    functions.set(key, entry);
  }
  const idle = areas.get('(idle)') ?? 0;
  return {
    totalMs: total,
    busyMs: total - idle,
    byArea: [...areas].map(([area, ms]) => ({ area, ms })).sort((a, b) => b.ms - a.ms),
    byFunction: [...functions.values()].sort((a, b) => b.ms - a.ms).slice(0, top),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile-summary FILE.cpuprofile [--top N]');
  const topAt = process.argv.indexOf('--top');
  const s = summarise(JSON.parse(await readFile(file, 'utf8')) as CpuProfile, topAt > 0 ? Number(process.argv[topAt + 1]) : 25);
  const pct = (ms: number) => `${((100 * ms) / s.totalMs).toFixed(1).padStart(5)}%`;
  console.log(`${file}: ${(s.totalMs / 1000).toFixed(1)} s sampled on the main thread, ${(s.busyMs / 1000).toFixed(1)} s busy\n`);
  console.log('by area');
  for (const a of s.byArea.slice(0, 12)) console.log(`  ${pct(a.ms)}  ${(a.ms / 1000).toFixed(2).padStart(7)} s  ${a.area}`);
  console.log('\nby function (self time)');
  for (const f of s.byFunction) console.log(`  ${pct(f.ms)}  ${(f.ms / 1000).toFixed(2).padStart(7)} s  ${f.fn}`);
}
