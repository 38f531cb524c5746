import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchCodec } from './codec.js';
import { benchCrypto } from './crypto.js';
import { benchDownload } from './download.js';
import { benchEndToEnd } from './e2e.js';
import { benchTlsCost } from './tls-cost.js';
import { benchHelperPipeline } from './helper-pipeline.js';
import { printTable, type BenchRow } from './lib/report.js';
import { tuneHeapForService } from '../runtime/heap.js';
import { benchSpool } from './spool.js';
import { benchStorageReceive } from './storage-receive.js';

/**
 * `npm run bench [-- --size 256M]`: every figure against a baseline measured
 * in the same run (these machines are noisy: absolute numbers are printed,
 * ratios are what we judge). Writes bench/results/<date>.json.
 */
/** `--NAME 256M`, `--NAME=1G` or a bare number of MiB, for --size and --rss-size alike. */
function sizeFlag(argv: string[], name: string, fallbackMiB: number): number {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return fallbackMiB;
  const text = argv[i].includes('=') ? argv[i].split('=')[1] : argv[i + 1];
  const m = /^(\d+)([MG])?i?B?$/i.exec(text ?? '');
  if (!m) throw new Error(`--${name} takes e.g. 256M or 1G (a bare number is MiB), got ${text}`);
  return Number(m[1]) * (m[2]?.toUpperCase() === 'G' ? 1024 : 1);
}

async function main(): Promise<void> {
  // Sections that run a helper in this process give it the heap tuning `ferry helper` has.
  tuneHeapForService();
  const sizeMiB = sizeFlag(process.argv.slice(2), 'size', 1024);
  const rows: BenchRow[] = [];
  const sections: Record<string, unknown> = {};
  // --only=e2e,download runs just those sections (an rss-* section is selected as "rss").
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
  const section = async <T>(name: string, fn: () => Promise<T>, toRows: (r: T) => BenchRow[]) => {
    if (only && !only.includes(name.replace(/-.*/, ''))) return;
    process.stderr.write(`bench: ${name}...\n`);
    try {
      const r = await fn();
      sections[name] = r;
      rows.push(...toRows(r));
    } catch (err) {
      sections[name] = { error: err instanceof Error ? err.message : String(err) };
      rows.push({ figure: `${name}: FAILED`, value: NaN, unit: '', note: err instanceof Error ? err.message : String(err) });
    }
  };

  await section('codec', () => benchCodec({ sizeMiB: Math.min(sizeMiB, 256) }), (r) => {
    const z = r.zfec;
    const row = (figure: string, value: number, base: number | undefined, goal?: string): BenchRow => ({ figure, value, unit: 'MB/s', baseline: base, ratio: base ? value / base : undefined, goal, note: z ? `zfec ${z.version} baseline` : 'zfec not installed: no baseline' });
    return [
      row(`erasure encode ${r.k}-of-${r.m}, ${r.segmentBytes} B segments (pool)`, r.ferry.poolRecycled.encodeMBps, z?.encodeMBps, '>= 2x'),
      row('erasure decode (pool)', r.ferry.poolRecycled.decodeMBps, z?.decodeMBps),
      row('erasure encode (one thread)', r.ferry.inThread.encodeMBps, z?.encodeMBps),
    ];
  });
  await section('crypto', () => benchCrypto({ sizeMiB: Math.min(sizeMiB, 256) }), (r) => r);
  await section('spool', () => benchSpool({ sizeMiB }), (r) => r);
  await section('helper', () => benchHelperPipeline({ sizeMiB }), (r) => r);
  await section('storage', () => benchStorageReceive({ sizeMiB: Math.min(sizeMiB, 1024) }), (r) => r);
  // --profile: V8 CPU profiles of the e2e run's helper and client and of a gateway GET, next to the JSON.
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');
  const profileDir = process.argv.includes('--profile') ? path.join(resultsDir, `profiles-${stamp}`) : undefined;
  await section('download', () => benchDownload({ sizeMiB, profileDir }), (r) => r.rows);
  await section('e2e', () => benchEndToEnd({ sizeMiB, profileDir }), (r) => r);
  // The helper must keep up with a fast WAN: the client's link capped at 50 MB/s (--throttle=MBps; 0 skips).
  const throttle = Number(process.argv.find((a) => a.startsWith('--throttle='))?.slice(11) ?? 50);
  if (throttle > 0) await section('drain', () => benchEndToEnd({ sizeMiB: Math.min(sizeMiB, 512), throttleMBps: throttle }), (r) => r);
  // Peak memory as a function of file size: flat is the goal (--rss-sizes=256M,1G,4G; --rss-size=N one size; 0 skips).
  const rssArg = process.argv.find((a) => a.startsWith('--rss-sizes='));
  const rssSizes = rssArg ? rssArg.split('=')[1].split(',').map((text) => sizeFlag([`--rss=${text}`], 'rss', 0)) : process.argv.some((a) => a.startsWith('--rss-size')) ? [sizeFlag(process.argv.slice(2), 'rss-size', 0)] : [256, 1024];
  for (const rssMiB of rssSizes.filter((n) => n > 0 && n !== sizeMiB)) {
    await section(`rss-${rssMiB}MiB`, () => benchEndToEnd({ sizeMiB: rssMiB }), (r) => r.filter((row) => row.figure.startsWith('peak RSS') || row.figure.startsWith('CPU-s per GiB put, all')));
  }

  // TLS on the storage hop against plain HTTP, same run (--tls-size=N; 0 skips).
  const tlsMiB = sizeFlag(process.argv.slice(2), 'tls-size', Math.min(sizeMiB, 128));
  if (tlsMiB > 0) await section('tls', () => benchTlsCost({ sizeMiB: tlsMiB }), (r) => r);

  console.log(`\nFerry bench, ${sizeMiB} MiB, ${os.cpus().length} CPUs, node ${process.version}\n`);
  printTable(rows);
  await mkdir(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${stamp}.json`);
  await writeFile(file, JSON.stringify({ date: new Date().toISOString(), sizeMiB, cpus: os.cpus().length, node: process.version, rows, sections }, null, 2));
  console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
  if (profileDir) console.log(`CPU profiles (open in Chrome DevTools, or summarise with bench/profile-summary.ts) in ${path.relative(process.cwd(), profileDir)}`);
}

await main();
