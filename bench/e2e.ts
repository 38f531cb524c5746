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
import { cpuAtExitFlags, cpuSecondsOf, cpuSecondsOfAll, mainThreadCpuSecondsOf, perGiB, readCpuAtExit } from './lib/cpu.js';
import { mbps, printTable, round, type BenchRow } from './lib/report.js';
import { withServiceProcessEnv } from '../runtime/heap.js';
import { rawPut } from './spool.js';
import { throttleProxy, type ThrottleProxy } from './lib/throttle-proxy.js';
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
 * Size of the warm-up put. 16 MiB (~5 MiB per storage server) left the servers still compiling
 * their hot paths during the measured put: storage 35-37 CPU-s/GiB against 21-23 after 64 MiB
 * (256 MiB puts, same load).
 */
const WARM_UP_BYTES = 64 * MiB;

/** A put of other bytes (no deduplication with the measured file) through the same helper. */
async function warmUp(dir: string, helperUrl: string): Promise<void> {
  const file = path.join(dir, 'warm-up.bin');
  await writeRandomFile(file, WARM_UP_BYTES);
  const child = spawn(process.execPath, [FERRY_BIN, 'put', file, '--helper', helperUrl, '--token', BENCH_CLIENT_TOKEN, '--state-dir', path.join(dir, 'warm-up-state'), '--no-progress'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const [code] = (await once(child, 'exit')) as [number];
  if (code !== 0) throw new Error(`the warm-up put exited ${code}`);
}

/**
 * `ferry put` end to end, every part in its own process as deployed: the
 * client (hash, encrypt, upload), the helper (verify, spool, encode, push)
 * and 10 storage servers. Baseline: a raw HTTP PUT of the same bytes into a
 * file, same run. Also the peak RSS of the helper and the client, and the
 * CPU seconds per GiB each kind of process spent on the put. With
 * `profileDir`, the helper and the client write V8 CPU profiles there.
 */
export async function benchEndToEnd(o: { sizeMiB?: number; profileDir?: string; /** Cap the client → helper link (MB/s) with a proxy. */ throttleMBps?: number; /** helper → storage over HTTPS (default) or HTTP */ tls?: boolean } = {}): Promise<BenchRow[]> {
  const sizeMiB = o.sizeMiB ?? 1024;
  const size = sizeMiB * MiB;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-bench-e2e-'));
  const storage: StorageProcess[] = [];
  let helper: ReturnType<typeof spawn> | undefined;
  let proxy: ThrottleProxy | undefined;
  try {
    const file = path.join(dir, 'plain.bin');
    await writeRandomFile(file, size);
    const rawMs = await rawPut({ path: file, size }, dir);
    const profile = (name: string) => (o.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`, `--cpu-prof-name=${name}-${sizeMiB}MiB.cpuprofile`] : []);
    // One storage server is profiled: they all do the same work.
    for (let i = 0; i < 10; i++) storage.push(await spawnStorage(path.join(dir, `s${i}`), BENCH_GRID_TOKEN, i === 0 ? profile('storage-0') : [], { tls: o.tls }));
    const config = path.join(dir, 'helper.json');
    await writeFile(config, JSON.stringify({ dataDir: path.join(dir, 'helper'), port: 0, clientTokens: [BENCH_CLIENT_TOKEN], storageServers: storage.map((s) => ({ url: s.url, token: BENCH_GRID_TOKEN })) }));
    // Started as its systemd unit starts it (SERVICE_PROCESS_ENV), so the RSS and CPU figures are the deployed helper's.
    helper = spawn(process.execPath, [...profile('helper'), FERRY_BIN, 'helper', '--config', config, '--log-level', 'warn'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: withServiceProcessEnv(),
    });
    const helperUrl = await waitForListening(helper, 'helper');
    if (o.throttleMBps) proxy = await throttleProxy(helperUrl, o.throttleMBps);
    // The helper and the storage servers are long-running services: one small put first, so the figures are
    // not the one-off warm-up (JIT, lazy loading, first connections) of eleven fresh processes. The client stays cold.
    await warmUp(dir, proxy?.url ?? helperUrl);
    const storagePids = storage.map((s) => s.child.pid);
    const helperCpu0 = (await cpuSecondsOf(helper.pid)) ?? 0;
    const helperMain0 = (await mainThreadCpuSecondsOf(helper.pid)) ?? 0;
    const storageCpu0 = await cpuSecondsOfAll(storagePids);
    const storageMain0 = await cpuSecondsOfAll(storagePids, mainThreadCpuSecondsOf);
    const clientCpuFile = path.join(dir, 'client-cpu.json');
    const t0 = performance.now();
    const client = spawn(
      process.execPath,
      [...cpuAtExitFlags(), ...profile('client'), FERRY_BIN, 'put', file, '--helper', proxy?.url ?? helperUrl, '--token', BENCH_CLIENT_TOKEN, '--state-dir', path.join(dir, 'state'), '--json', '--no-progress'],
      { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FERRY_BENCH_CPU_FILE: clientCpuFile } },
    );
    let out = '';
    client.stdout.on('data', (d: Buffer) => (out += d.toString()));
    let clientPeak = 0;
    const sampler = setInterval(() => void peakRss(client.pid).then((r) => (clientPeak = Math.max(clientPeak, r))), 100);
    const [code] = (await once(client, 'exit')) as [number];
    clearInterval(sampler);
    const totalMs = performance.now() - t0;
    if (code !== 0) throw new Error(`ferry put exited ${code}`);
    // The put ends when the helper's result is durable: its work and the servers' is done by now.
    const cpu = {
      client: readCpuAtExit(clientCpuFile) ?? NaN,
      helper: ((await cpuSecondsOf(helper.pid)) ?? NaN) - helperCpu0,
      storage: (await cpuSecondsOfAll(storagePids)) - storageCpu0,
      helperMain: ((await mainThreadCpuSecondsOf(helper.pid)) ?? NaN) - helperMain0,
      storageMain: (await cpuSecondsOfAll(storagePids, mainThreadCpuSecondsOf)) - storageMain0,
    };
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
    // The helper's drain: what is left to do once the last byte arrived, against the upload itself.
    const uploadMs = t.receivedMs ?? NaN;
    const drainMs = t.totalMs - uploadMs;
    const drain: BenchRow = {
      figure: o.throttleMBps ? `helper drain, client link at ${o.throttleMBps} MB/s: last byte -> result / upload time (${sizeMiB} MiB)` : `helper drain on loopback: last byte -> result / upload time (${sizeMiB} MiB)`,
      value: drainMs / uploadMs,
      unit: 'x',
      goal: o.throttleMBps ? '<= 0.1' : '<= 0.5',
      note: `upload ${Math.round(uploadMs)} ms (${round(mbps(size, uploadMs), 1)} MB/s), then ${Math.round(drainMs)} ms to the result`,
    };
    const cpuRows: BenchRow[] = [
      {
        figure: `CPU-s per GiB put, all processes (${sizeMiB} MiB${o.throttleMBps ? `, link ${o.throttleMBps} MB/s` : ''})`,
        value: perGiB(cpu.client + cpu.helper + cpu.storage, size),
        unit: 'CPU-s/GiB',
        note: `client ${round(perGiB(cpu.client, size), 1)}, helper ${round(perGiB(cpu.helper, size), 1)}, 10 storage servers ${round(perGiB(cpu.storage, size), 1)}; wall ${round(totalMs / 1000, 1)} s`,
      },
    ];
    if (o.throttleMBps) return [drain, ...cpuRows];
    return [
      drain,
      {
        figure: `end-to-end ferry put (${sizeMiB} MiB, 10 storage servers)`,
        value: e2e,
        unit: 'MB/s',
        baseline: raw,
        ratio: e2e / raw,
        goal: '>= 0.25x',
        note: `stages: client hashing ~${Math.round(hashMs)} ms, upload ${Math.round(t.receivedMs ?? 0)} ms, encode+push ${Math.round(t.encodeMs)} ms (overlapping), total ${Math.round(totalMs)} ms`,
      },
      ...cpuRows,
      { figure: `CPU-s per GiB put, client`, value: perGiB(cpu.client, size), unit: 'CPU-s/GiB' },
      {
        figure: `CPU-s per GiB put, helper`,
        value: perGiB(cpu.helper, size),
        unit: 'CPU-s/GiB',
        note: `main thread ${round(perGiB(cpu.helperMain, size), 1)} (HTTP in and out, TLS to the servers, JavaScript), other threads ${round(perGiB(cpu.helper - cpu.helperMain, size), 1)} (codec workers: coding and block hashes; libuv pool: segment verify, file I/O; V8's GC)`,
      },
      {
        figure: `CPU-s per GiB put, storage servers (sum)`,
        value: perGiB(cpu.storage, size),
        unit: 'CPU-s/GiB',
        note: `main threads ${round(perGiB(cpu.storageMain, size), 1)} (HTTP, TLS, JavaScript), other threads ${round(perGiB(cpu.storage - cpu.storageMain, size), 1)} (libuv pool: writes, fsync; V8's GC)`,
      },
      { figure: `peak RSS, helper (${sizeMiB} MiB put)`, value: helperPeak / MiB, unit: 'MiB', goal: '<= 150 at 4 GiB' },
      { figure: `peak RSS, client (${sizeMiB} MiB put)`, value: clientPeak / MiB, unit: 'MiB', goal: '<= 150 at 4 GiB' },
    ];
  } finally {
    await proxy?.close();
    helper?.kill('SIGTERM');
    if (helper && helper.exitCode === null) await once(helper, 'exit');
    await Promise.all(storage.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const size = Number(process.argv.find((a) => a.startsWith('--size='))?.slice(7) ?? 1024);
  const profileDir = process.argv.find((a) => a.startsWith('--profile='))?.slice(10);
  const throttle = process.argv.find((a) => a.startsWith('--throttle='))?.slice(11);
  printTable(await benchEndToEnd({ sizeMiB: size, profileDir, throttleMBps: throttle ? Number(throttle) : undefined }));
}
