import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { request } from 'undici';
import { upload } from '../client/upload.js';
import { listen } from '../runtime/http/listen.js';
import { parseHelperConfig } from '../helper/config.js';
import { startHelper } from '../helper/start.js';
import { startStorageServer } from '../storage/server.js';
import { BENCH_TOKEN } from './client-upload-child.js';
import { makeBenchFile, type BenchFile } from './lib/ciphertext-file.js';
import { mbps, printTable, type BenchRow } from './lib/report.js';

const execFileAsync = promisify(execFile);

const GRID = 'bench-grid-token-0123456789abcdef';

async function makePlainFile(file: string, size: number): Promise<void> {
  const out = createWriteStream(file);
  for (let left = size; left > 0; left -= 4 << 20) {
    if (!out.write(randomBytes(Math.min(left, 4 << 20)))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Baseline for hashing: one streaming SHA-256 pass over the file. */
async function oneHashPass(file: string): Promise<number> {
  const t0 = performance.now();
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) h.update(chunk as Buffer);
  h.digest();
  return performance.now() - t0;
}

const CHILD = fileURLToPath(new URL('./client-upload-child.js', import.meta.url));

/** Runs the client half in its own process and returns its JSON line. */
async function child<T>(args: string[]): Promise<T> {
  const { stdout } = await execFileAsync(process.execPath, [CHILD, ...args], { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}

/** Baseline for sending: a raw HTTP PUT of the file into a file on loopback (no tus, no hashing, no encryption). */
async function rawPut(file: string, dir: string): Promise<number> {
  const dest = path.join(dir, 'raw-put.bin');
  const server = await listen((req, res) => void pipeline(req, createWriteStream(dest)).then(() => res.end('ok'), () => res.destroy()), { host: '127.0.0.1', port: 0 });
  try {
    return (await child<{ ms: number }>(['raw', server.url, file])).ms;
  } finally {
    await server.close();
    await rm(dest, { force: true });
  }
}

/** Baseline for the client's send: bare tus PATCHes of a ready ciphertext file (no reading plaintext, no encryption). */
async function bareTus(file: BenchFile, dir: string): Promise<number> {
  const helper = await startHelper(parseHelperConfig({ dataDir: path.join(dir, 'helper-tus'), port: 0, clientTokens: [BENCH_TOKEN], limits: { pipeline: false } }));
  await helper.helper.queue.stop();
  try {
    const res = await request(`${helper.url}/helper/v1/check`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ storageIndex: file.si, size: file.size, ...file.params, happy: file.params.k, segmentHashes: file.hashes.toString('base64') }),
    });
    const answer = (await res.body.json()) as { uploadPath: string };
    return (await child<{ ms: number }>(['tus', `${helper.url}${answer.uploadPath}`, file.path])).ms;
  } finally {
    await helper.close();
  }
}

/**
 * The client's own phases: the two hashing passes, then sending (encrypting
 * from the file on the fly, tus PATCH, the helper verifying and fsyncing each
 * segment). The helper's queue is stopped so encoding does not compete for the
 * CPU: this measures what the client controls.
 */
async function clientPhases(file: string, dir: string): Promise<{ hashMs: number; sendMs: number }> {
  const helper = await startHelper(parseHelperConfig({ dataDir: path.join(dir, 'helper'), port: 0, clientTokens: [BENCH_TOKEN], limits: { pipeline: false } }));
  await helper.helper.queue.stop();
  try {
    return await child<{ hashMs: number; sendMs: number }>(['ferry', helper.url, file, path.join(dir, 'state')]);
  } finally {
    await helper.close();
  }
}

/** `ferry put` end to end: hashing, sending, encoding and pushing 10 shares to 10 storage servers. */
async function fullPut(file: string, dir: string): Promise<number> {
  const servers = [];
  for (let i = 0; i < 10; i++) servers.push(await startStorageServer({ dir: path.join(dir, `s${i}`), token: GRID, sweepOnStart: false }));
  const helper = await startHelper(parseHelperConfig({ dataDir: path.join(dir, 'helper-full'), port: 0, clientTokens: [BENCH_TOKEN], storageServers: servers.map((s) => ({ url: s.url, token: GRID })) }));
  try {
    const t0 = performance.now();
    await upload(file, { helperUrl: helper.url, token: BENCH_TOKEN, stateDir: path.join(dir, 'state-full') });
    return performance.now() - t0;
  } finally {
    await helper.close();
    for (const s of servers) await s.close();
  }
}

export async function benchClientUpload(o: { sizeMiB?: number; full?: boolean } = {}): Promise<BenchRow[]> {
  const sizeMiB = o.sizeMiB ?? 256;
  const size = sizeMiB * 1024 * 1024;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-bench-client-'));
  try {
    const file = path.join(dir, 'plain.bin');
    await makePlainFile(file, size);
    const baseHash = mbps(size, await oneHashPass(file));
    const baseSend = mbps(size, await rawPut(file, dir));
    const ct = await makeBenchFile(path.join(dir, 'ct.bin'), size, { k: 3, n: 10, maxSegmentSize: 1024 * 1024 });
    const baseTus = mbps(size, await bareTus(ct, dir));
    await rm(ct.path);
    const { hashMs, sendMs } = await clientPhases(file, dir);
    const hash = mbps(size, hashMs);
    const send = mbps(size, sendMs);
    const rows: BenchRow[] = [
      { figure: 'client: hashing (convergent key + segment hashes)', value: hash, unit: 'MB/s', baseline: baseHash, ratio: hash / baseHash, note: `${sizeMiB} MiB, two passes; baseline one SHA-256 pass` },
      { figure: 'client: send (encrypt + tus to the helper spool)', value: send, unit: 'MB/s', baseline: baseTus, ratio: send / baseTus, goal: '>= 0.9x', note: 'baseline bare tus PATCHes of ready ciphertext, same helper' },
      { figure: 'client: send vs raw loopback PUT', value: send, unit: 'MB/s', baseline: baseSend, ratio: send / baseSend, note: 'baseline raw HTTP PUT into a file (no verification, no fsync)' },
    ];
    if (o.full) {
      const full = mbps(size, await fullPut(file, dir));
      rows.push({ figure: 'client: ferry put end to end (10 storage servers)', value: full, unit: 'MB/s', baseline: baseSend, ratio: full / baseSend, note: 'hash + send + encode + push, client and helper in one process' });
    }
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const size = Number(process.argv.find((a) => a.startsWith('--size='))?.slice(7) ?? 256);
  printTable(await benchClientUpload({ sizeMiB: size, full: process.argv.includes('--full') }));
}
