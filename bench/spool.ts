import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import { tusPut } from './lib/tus-put.js';
import { parseHelperConfig } from '../helper/config.js';
import { startHelper } from '../helper/start.js';
import { listen } from '../runtime/http/listen.js';
import { makeBenchFile, type BenchFile } from './lib/ciphertext-file.js';
import { perGiB } from './lib/cpu.js';
import { mbps, printTable, type BenchRow } from './lib/report.js';

const TOKEN = 'bench-client-token-0123456789abcdef';

/** Baseline: a raw HTTP PUT of the same bytes piped into a file (no tus, no hashing, no fsync per segment). */
export async function rawPut(file: { path: string; size: number }, dir: string): Promise<number> {
  const dest = path.join(dir, 'raw-put.bin');
  const server = await listen(
    (req, res) => {
      void pipeline(req, createWriteStream(dest)).then(
        () => res.end('ok'),
        () => res.destroy(),
      );
    },
    { host: '127.0.0.1', port: 0 },
  );
  try {
    const t0 = performance.now();
    const res = await request(`${server.url}/put`, { method: 'PUT', body: createReadStream(file.path), headers: { 'content-length': String(file.size) } });
    await res.body.text();
    return performance.now() - t0;
  } finally {
    await server.close();
    await rm(dest, { force: true });
  }
}

/** `fn`'s result, wall time and CPU seconds (this process, all threads: both ends run here). */
async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; cpuS: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { value, ms, cpuS: (c.user + c.system) / 1e6 };
}

/** Ferry's spool: check, then tus PATCHes until every segment is verified and fsynced (encoding not running). */
async function spoolUpload(file: BenchFile, dir: string): Promise<{ ms: number; cpuS: number }> {
  const helper = await startHelper(parseHelperConfig({ dataDir: path.join(dir, 'helper'), port: 0, clientTokens: [TOKEN] }));
  void helper.helper.queue.stop(); // measure receiving only
  try {
    return await timed(async () => {
      const answer = await tusPut(helper.url, TOKEN, file, file.params.k);
      if (answer.status !== 'send') throw new Error(`unexpected check answer ${JSON.stringify(answer)}`);
    });
  } finally {
    await helper.close();
  }
}

export async function benchSpool(o: { sizeMiB?: number; dir?: string } = {}): Promise<BenchRow[]> {
  const size = (o.sizeMiB ?? 1024) * 1024 * 1024;
  const dir = o.dir ?? (await import('node:fs/promises')).mkdtemp(path.join(os.tmpdir(), 'ferry-bench-spool-'));
  const base = await dir;
  try {
    const file = await makeBenchFile(path.join(base, 'ct.bin'), size, { k: 3, n: 10, maxSegmentSize: 1024 * 1024 });
    // rawPut times its PUT alone (not its server's start and stop); the CPU figure spans both.
    const rawRun = await timed(() => rawPut(file, base));
    const spoolRun = await spoolUpload(file, base);
    const raw = mbps(size, rawRun.value);
    const spool = mbps(size, spoolRun.ms);
    const spoolCpuPerGiB = perGiB(spoolRun.cpuS, size);
    const rawCpuPerGiB = perGiB(rawRun.cpuS, size);
    return [
      { figure: 'spool: client -> helper ciphertext', value: spool, unit: 'MB/s', baseline: raw, ratio: spool / raw, goal: '>= 0.9x', note: `${o.sizeMiB ?? 1024} MiB, raw PUT into a file as baseline` },
      {
        figure: 'CPU-s per GiB spooled (tus client and helper, one process)',
        value: spoolCpuPerGiB,
        unit: 'CPU-s/GiB',
        baseline: rawCpuPerGiB,
        ratio: spoolCpuPerGiB / rawCpuPerGiB,
        note: 'baseline: the raw PUT, client and server in one process',
      },
    ];
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const size = Number(process.argv.find((a) => a.startsWith('--size='))?.slice(7) ?? 1024);
  printTable(await benchSpool({ sizeMiB: size }));
}
