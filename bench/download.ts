/**
 * Downloads through the helper's gateway on a grid of 10 storage servers
 * (their own processes) with a helper in this process:
 *  (a) a full GET of the file vs (b) express serving the same plaintext as a
 *      static file, same run, same client → ratio (goal >= 0.6x), and the CPU
 *      seconds per GiB the helper and the storage servers spent on it. The
 *      client runs in its own process (get-client-child.ts), as a downloader
 *      does: in this process it took a share of the event loop under test;
 *  (c) 20 random 1 MiB ranges: bytes read from storage per request, in
 *      segments' worth of share data (k blocks; goal <= 2), and time to first byte.
 *
 *   npm run build && node dist/bench/download.js [--size=1024] [--profile=DIR]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { Session } from 'node:inspector/promises';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import express from 'express';
import { formatReadCap } from '../core/capability.js';
import { cipherReady, SeekableCipher } from '../core/crypto/cipher.js';
import { fileGeometry, segmentRange, type EncodingParams } from '../core/params.js';
import { crypttextSegmentHash } from '../core/share-builder.js';
import { formatStorageIndex, storageIndexFromKey } from '../core/storage-index.js';
import { listen } from '../runtime/http/listen.js';
import type { BenchFile } from './lib/ciphertext-file.js';
import { cpuSecondsOfAll, perGiB } from './lib/cpu.js';
import { BENCH_CLIENT_TOKEN, startBenchGrid } from './lib/local-grid.js';
import { mbps, printTable, round, type BenchRow } from './lib/report.js';
import { tusPut, waitForJob } from './lib/tus-put.js';
import type { GetAnswer, GetRequest } from './get-client-child.js';

const MiB = 1024 * 1024;
const PARAMS: EncodingParams = { k: 3, n: 10, maxSegmentSize: MiB };
const RANGES = 20;

export interface DownloadBenchResult {
  sizeMiB: number;
  gatewayMBps: number;
  staticMBps: number;
  /** Single-core verify + decrypt rate of this machine (2 x SHA-256 + ChaCha20 per byte). */
  crypto: { sha256: number; chacha20: number; ceiling: number };
  /** gateway / static (goal >= 0.6). */
  ratio: number;
  /**
   * CPU seconds per GiB of the best full GET of each kind. `helper` is this
   * process (helper and gateway; the client is in its own process), `static`
   * the same process serving the file with express; `storage` is the ten
   * storage server processes summed; `client` the downloading process.
   */
  cpu: { gateway: { helper: number; storage: number; storageRequests: number; client: number }; static: { process: number; client: number } };
  ranges: {
    count: number;
    rangeBytes: number;
    /** k blocks of one segment: what decoding one segment needs. */
    segmentShareBytes: number;
    /** Bytes read from storage per request, in segments' worth (mean, max). */
    segmentsReadMean: number;
    segmentsReadMax: number;
    /** Of which hash-tree nodes, bytes per request (mean). */
    overheadBytesMean: number;
    ttfbMsMedian: number;
    ttfbMsP95: number;
    /** First request on a file the gateway has not seen (share lookup and UEB included). */
    ttfbMsCold: number;
    totalMsMedian: number;
  };
  rows: BenchRow[];
}

/** A random plaintext file, and its ciphertext under a random key, with the segment hashes a check needs. */
async function makeFiles(dir: string, size: number): Promise<{ plainPath: string; ct: BenchFile; key: Uint8Array }> {
  await cipherReady();
  const key = randomBytes(32);
  const cipher = new SeekableCipher(key);
  const g = fileGeometry(size, PARAMS);
  const plainPath = path.join(dir, 'plain.bin');
  const ctPath = path.join(dir, 'ct.bin');
  const plainOut = createWriteStream(plainPath);
  const ctOut = createWriteStream(ctPath);
  const hashes: Buffer[] = [];
  for (let i = 0; i < g.numSegments; i++) {
    const { start, end } = segmentRange(g, i);
    const plain = randomBytes(end - start);
    const ct = cipher.xorAt(start, plain);
    hashes.push(crypttextSegmentHash(ct));
    plainOut.write(plain);
    ctOut.write(ct);
    // Checked at wait time: the other stream may have drained meanwhile.
    if (plainOut.writableNeedDrain) await once(plainOut, 'drain');
    if (ctOut.writableNeedDrain) await once(ctOut, 'drain');
  }
  plainOut.end();
  ctOut.end();
  await Promise.all([once(plainOut, 'finish'), once(ctOut, 'finish')]);
  return { plainPath, key, ct: { path: ctPath, size, si: formatStorageIndex(storageIndexFromKey(key)), hashes: Buffer.concat(hashes), params: PARAMS } };
}

interface Timed {
  ttfbMs: number;
  totalMs: number;
  bytes: number;
  /** CPU seconds of this process (the server: helper or express), of `others` (summed) and of the client process during the GET. */
  cpu: { self: number; others: number; client: number };
}

/** The downloading client, in its own process; one GET at a time. */
class GetClient {
  private readonly child: ChildProcess = fork(new URL('./get-client-child.js', import.meta.url), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });

  /** GET `url` (with an optional Range), the body discarded: time to first byte, total, CPU this process and `others` spent. */
  async get(url: string, range?: string, others: (number | undefined)[] = []): Promise<Timed> {
    const self0 = process.cpuUsage();
    const others0 = await cpuSecondsOfAll(others);
    const answer = await new Promise<GetAnswer>((resolve, reject) => {
      const onExit = () => reject(new Error('the bench client process exited'));
      this.child.once('exit', onExit);
      this.child.once('message', (m: GetAnswer) => {
        this.child.off('exit', onExit);
        resolve(m);
      });
      const req: GetRequest = { url, range };
      this.child.send(req);
    });
    if ('error' in answer) throw new Error(answer.error);
    const self = process.cpuUsage(self0);
    const { cpuSeconds: client, ...timing } = answer;
    return { ...timing, cpu: { self: (self.user + self.system) / 1e6, others: (await cpuSecondsOfAll(others)) - others0, client } };
  }

  close(): Promise<void> {
    if (this.child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill();
    });
  }
}

/**
 * What one core can verify and decrypt here: every byte is hashed twice
 * (block, segment: SHA-256) and decrypted once (ChaCha20). Without SHA
 * extensions this, not the network, bounds a gateway (best of 3, 64 MiB).
 */
function cryptoCeilingMBps(): { sha256: number; chacha20: number; ceiling: number } {
  const data = randomBytes(64 * MiB);
  const best = (fn: () => void) => {
    let ms = Infinity;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      fn();
      ms = Math.min(ms, performance.now() - t0);
    }
    return mbps(data.length, ms);
  };
  const sha256 = best(() => createHash('sha256').update(data).digest());
  // In 256 KiB slices, as the gateway decrypts (one call on 64 MiB mostly measures allocating its output).
  const chacha20 = best(() => {
    const c = createCipheriv('chacha20', Buffer.alloc(32), Buffer.alloc(16));
    for (let o = 0; o < data.length; o += 256 * 1024) c.update(data.subarray(o, o + 256 * 1024));
  });
  return { sha256, chacha20, ceiling: 1 / (2 / sha256 + 1 / chacha20) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)];

/** Runs `fn` under V8's CPU profiler (this process: the helper with its gateway) and writes the profile to `file`. */
async function profiled<T>(file: string | undefined, fn: () => Promise<T>): Promise<T> {
  if (!file) return fn();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(profile));
  }
}

/** `profileDir`: a V8 CPU profile of one more full GET through the gateway is written there. */
export async function benchDownload(o: { sizeMiB?: number; profileDir?: string; /** helper → storage over HTTPS (default) or HTTP */ tls?: boolean } = {}): Promise<DownloadBenchResult> {
  const sizeMiB = o.sizeMiB ?? 1024;
  const size = sizeMiB * MiB;
  const grid = await startBenchGrid({ tls: o.tls });
  const client = new GetClient();
  try {
    const say = (msg: string) => process.stderr.write(`bench download: ${msg}\n`);
    say(`writing ${sizeMiB} MiB of plaintext and ciphertext`);
    const { plainPath, ct, key } = await makeFiles(grid.dir, size);
    say('uploading');
    await tusPut(grid.helper.url, BENCH_CLIENT_TOKEN, ct, 7);
    const job = await waitForJob(grid.helper.url, BENCH_CLIENT_TOKEN, ct.si);
    const uebHash = Buffer.from((job.result as { uebHash: string }).uebHash, 'hex');
    await rm(ct.path, { force: true });
    const cap = formatReadCap({ key, uebHash, k: PARAMS.k, n: PARAMS.n, size });
    const gatewayUrl = `${grid.helper.url}/uri/${cap}`;

    // The baseline: the same plaintext from express' static file serving, in this process like the gateway.
    const app = express();
    app.get('/plain.bin', (_req, res) => res.sendFile(plainPath));
    const staticServer = await listen(app, { host: '127.0.0.1', port: 0 });
    const gw = grid.helper.helper.gateway;
    try {
      // (a), (b): alternate, best of two each (these machines are noisy).
      say('full downloads');
      const storagePids = grid.storage.map((s) => s.child.pid);
      let best: { static?: Timed; gateway?: Timed } = {};
      let storageRequests = 0;
      let storageBytes = 0;
      for (let run = 0; run < 2; run++) {
        const s = await client.get(`${staticServer.url}/plain.bin`);
        const reads0 = gw.stats.shareReads;
        const bytes0 = gw.stats.bytesFromStorage;
        const g = await client.get(gatewayUrl, undefined, storagePids);
        storageRequests = gw.stats.shareReads - reads0;
        storageBytes = gw.stats.bytesFromStorage - bytes0;
        if (s.bytes !== size || g.bytes !== size) throw new Error(`short download: static ${s.bytes}, gateway ${g.bytes} of ${size}`);
        if (!best.static || s.totalMs < best.static.totalMs) best = { ...best, static: s };
        if (!best.gateway || g.totalMs < best.gateway.totalMs) best = { ...best, gateway: g };
      }
      const staticMs = best.static!.totalMs;
      const gatewayMs = best.gateway!.totalMs;
      const cpu = {
        gateway: { helper: perGiB(best.gateway!.cpu.self, size), storage: perGiB(best.gateway!.cpu.others, size), storageRequests: perGiB(storageRequests, size), client: perGiB(best.gateway!.cpu.client, size) },
        static: { process: perGiB(best.static!.cpu.self, size), client: perGiB(best.static!.cpu.client, size) },
      };
      if (o.profileDir) {
        say('profiling a full GET through the gateway');
        await profiled(path.join(o.profileDir, `gateway-get-${sizeMiB}MiB.cpuprofile`), () => client.get(gatewayUrl));
      }

      // (c): random 1 MiB ranges; the first on a cold gateway (no cached lookups).
      say('random ranges');
      gw.clear();
      const g = fileGeometry(size, PARAMS);
      const segmentShareBytes = g.k * g.blockSize;
      const reads: number[] = [];
      const ttfbs: number[] = [];
      const totals: number[] = [];
      let ttfbMsCold = 0;
      for (let i = 0; i <= RANGES; i++) {
        const start = Math.floor(Math.random() * (size - MiB));
        const before = gw.stats.bytesFromStorage;
        const r = await client.get(gatewayUrl, `bytes=${start}-${start + MiB - 1}`);
        if (r.bytes !== MiB) throw new Error(`range answered ${r.bytes} bytes`);
        if (i === 0) {
          ttfbMsCold = r.ttfbMs;
          continue;
        }
        reads.push(gw.stats.bytesFromStorage - before);
        ttfbs.push(r.ttfbMs);
        totals.push(r.totalMs);
      }
      const blocksOf = (bytes: number) => Math.round(bytes / segmentShareBytes) * segmentShareBytes;
      const segmentsRead = reads.map((b) => b / segmentShareBytes);
      const ranges = {
        count: RANGES,
        rangeBytes: MiB,
        segmentShareBytes,
        segmentsReadMean: segmentsRead.reduce((a, b) => a + b, 0) / RANGES,
        segmentsReadMax: Math.max(...segmentsRead),
        overheadBytesMean: reads.reduce((a, b) => a + (b - blocksOf(b)), 0) / RANGES,
        ttfbMsMedian: median(ttfbs),
        ttfbMsP95: p95(ttfbs),
        ttfbMsCold,
        totalMsMedian: median(totals),
      };
      const gatewayMBps = mbps(size, gatewayMs);
      const staticMBps = mbps(size, staticMs);
      const crypto = cryptoCeilingMBps();
      const rows: BenchRow[] = [
        { figure: 'download: full GET via the gateway', value: gatewayMBps, unit: 'MB/s', baseline: staticMBps, ratio: gatewayMBps / staticMBps, goal: '>= 0.6x', note: `${sizeMiB} MiB; baseline: express static file, same client` },
        {
          figure: 'CPU-s per GiB full GET, helper (gateway) + storage servers',
          value: cpu.gateway.helper + cpu.gateway.storage,
          unit: 'CPU-s/GiB',
          note: `helper process ${round(cpu.gateway.helper, 2)} (express serving the file: ${round(cpu.static.process, 2)}), 10 storage servers ${round(cpu.gateway.storage, 2)}, client process ${round(cpu.gateway.client, 2)} (static: ${round(cpu.static.client, 2)}) (${Math.round(cpu.gateway.storageRequests)} range requests per GiB, ${round(storageBytes / size, 3)} bytes read per byte sent)`,
        },
        { figure: 'CPU-s per GiB full GET, helper (gateway)', value: cpu.gateway.helper, unit: 'CPU-s/GiB' },
        { figure: 'CPU-s per GiB full GET, storage servers (sum)', value: cpu.gateway.storage, unit: 'CPU-s/GiB' },
        {
          figure: 'download: storage bytes per random 1 MiB range',
          value: ranges.segmentsReadMean,
          unit: 'segments',
          goal: '<= 2',
          note: `max ${round(ranges.segmentsReadMax, 4)}; a segment's worth = ${segmentShareBytes} B of blocks; hash nodes ${Math.round(ranges.overheadBytesMean)} B/request`,
        },
        {
          figure: 'download: gateway vs one core verifying + decrypting',
          value: gatewayMBps,
          unit: 'MB/s',
          baseline: crypto.ceiling,
          ratio: gatewayMBps / crypto.ceiling,
          note: `SHA-256 ${Math.round(crypto.sha256)} MB/s, ChaCha20 ${Math.round(crypto.chacha20)} MB/s here; 2 hashes + 1 decryption per byte`,
        },
        { figure: 'download: time to first byte, 1 MiB range', value: ranges.ttfbMsMedian, unit: 'ms', note: `p95 ${round(ranges.ttfbMsP95, 1)} ms; cold file ${round(ttfbMsCold, 1)} ms; whole range ${round(ranges.totalMsMedian, 1)} ms (median)` },
      ];
      return { sizeMiB, gatewayMBps, staticMBps, crypto, ratio: gatewayMBps / staticMBps, cpu, ranges, rows };
    } finally {
      await staticServer.close();
    }
  } finally {
    await client.close();
    await grid.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const sizeMiB = Number(process.argv.find((a) => a.startsWith('--size='))?.slice(7) ?? 1024);
  const profileDir = process.argv.find((a) => a.startsWith('--profile='))?.slice(10);
  const r = await benchDownload({ sizeMiB, profileDir });
  printTable(r.rows);
  console.log(JSON.stringify({ ...r, rows: undefined }));
}
