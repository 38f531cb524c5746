import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import { BENCH_CLIENT_TOKEN, BENCH_GRID_TOKEN } from './lib/local-grid.js';
import { FERRY_BIN, spawnStorage, waitForListening, type StorageProcess } from './lib/processes.js';
import { mbps, printTable, type BenchRow } from './lib/report.js';
import { rawPut } from './spool.js';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';

const MiB = 1024 * 1024;

/** Peak resident set (VmHWM) of a live process, in bytes; 0 once it is gone. */
async function peakRss(pid: number | undefined): Promise<number> {
  if (!pid) return 0;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function writeRandomFile(file: string, size: number): Promise<void> {
  const out = createWriteStream(file);
  for (let left = size; left > 0; left -= 4 * MiB) {
    if (!out.write(randomBytes(Math.min(4 * MiB, left)))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/**
 * `ferry put` end to end, every part in its own process as deployed: the
 * client (hash, encrypt, upload), the helper (verify, spool, encode, push)
 * and 10 storage servers. Baseline: a raw HTTP PUT of the same bytes into a
 * file, same run. Also the peak RSS of the helper and the client.
 */
export async function benchEndToEnd(o: { sizeMiB?: number } = {}): Promise<BenchRow[]> {
  const sizeMiB = o.sizeMiB ?? 1024;
  const size = sizeMiB * MiB;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-bench-e2e-'));
  const storage: StorageProcess[] = [];
  let helper: ReturnType<typeof spawn> | undefined;
  try {
    const file = path.join(dir, 'plain.bin');
    await writeRandomFile(file, size);
    const rawMs = await rawPut({ path: file, size }, dir);
    for (let i = 0; i < 10; i++) storage.push(await spawnStorage(path.join(dir, `s${i}`), BENCH_GRID_TOKEN));
    const config = path.join(dir, 'helper.json');
    await writeFile(config, JSON.stringify({ dataDir: path.join(dir, 'helper'), port: 0, clientTokens: [BENCH_CLIENT_TOKEN], storageServers: storage.map((s) => ({ url: s.url, token: BENCH_GRID_TOKEN })) }));
    helper = spawn(process.execPath, [FERRY_BIN, 'helper', '--config', config, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const helperUrl = await waitForListening(helper, 'helper');
    const t0 = performance.now();
    const client = spawn(process.execPath, [FERRY_BIN, 'put', file, '--helper', helperUrl, '--token', BENCH_CLIENT_TOKEN, '--state-dir', path.join(dir, 'state'), '--json', '--no-progress'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    client.stdout.on('data', (d: Buffer) => (out += d.toString()));
    let clientPeak = 0;
    const sampler = setInterval(() => void peakRss(client.pid).then((r) => (clientPeak = Math.max(clientPeak, r))), 100);
    const [code] = (await once(client, 'exit')) as [number];
    clearInterval(sampler);
    const totalMs = performance.now() - t0;
    if (code !== 0) throw new Error(`ferry put exited ${code}`);
    const result = JSON.parse(out) as { storageIndex: string };
    const job = (await (await request(`${helperUrl}/helper/v1/jobs/${result.storageIndex}`, { headers: { authorization: `Bearer ${BENCH_CLIENT_TOKEN}` } })).body.json()) as {
      createdAt: number;
      result: { timings: { receivedMs?: number; encodeMs: number; totalMs: number } };
    };
    const helperPeak = await peakRss(helper.pid);
    const t = job.result.timings;
    const hashMs = totalMs - t.totalMs; // the client hashes before the helper hears of the file
    const raw = mbps(size, rawMs);
    const e2e = mbps(size, totalMs);
    return [
      {
        figure: `end-to-end ferry put (${sizeMiB} MiB, 10 storage servers)`,
        value: e2e,
        unit: 'MB/s',
        baseline: raw,
        ratio: e2e / raw,
        goal: '>= 0.15x',
        note: `stages: client hashing ~${Math.round(hashMs)} ms, upload ${Math.round(t.receivedMs ?? 0)} ms, encode+push ${Math.round(t.encodeMs)} ms (overlapping), total ${Math.round(totalMs)} ms`,
      },
      { figure: `peak RSS, helper (${sizeMiB} MiB put)`, value: helperPeak / MiB, unit: 'MiB', goal: '<= 200' },
      { figure: `peak RSS, client (${sizeMiB} MiB put)`, value: clientPeak / MiB, unit: 'MiB', goal: '<= 200' },
    ];
  } finally {
    helper?.kill('SIGTERM');
    if (helper && helper.exitCode === null) await once(helper, 'exit');
    await Promise.all(storage.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const size = Number(process.argv.find((a) => a.startsWith('--size='))?.slice(7) ?? 1024);
  printTable(await benchEndToEnd({ sizeMiB: size }));
}
