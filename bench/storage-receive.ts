/**
 * The storage server's receive path alone: one server process takes shares
 * pushed the way the helper pushes them (16 MiB streamed PATCHes, two in
 * flight per share, fed in block-sized pieces) from this process, and we
 * count the server's CPU seconds per GiB received. In the e2e figure every
 * server is a fresh process taking ~1/3 of the file, so its one-time warm-up
 * (first TLS handshakes, lazy loading, JIT) weighs as much as the bytes; here
 * it is a figure of its own, and the steady state is measured on a warm
 * process, over pinned HTTPS and (as the baseline) plain HTTP.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { StorageClient } from '../storage/client.js';
import { cpuSecondsOf, perGiB } from './lib/cpu.js';
import { BENCH_GRID_TOKEN } from './lib/local-grid.js';
import { spawnStorage } from './lib/processes.js';
import { round, type BenchRow } from './lib/report.js';

const MiB = 2 ** 20;
const WINDOW = 16 * MiB;
/** A block of a 1 MiB segment at k = 3: what the helper writes into a share at a time. */
const PIECE = 349_526;
const SHARES = 4;
const WARMUP_MiB = 32;

async function push(client: StorageClient, shareBytes: number, shares: number): Promise<void> {
  const si = randomBytes(16);
  await client.allocate(si, shareBytes, [...Array(shares).keys()]);
  const src = randomBytes(PIECE);
  await Promise.all(
    [...Array(shares).keys()].map(async (shnum) => {
      const inFlight: Promise<unknown>[] = [];
      for (let off = 0; off < shareBytes; off += WINDOW) {
        const end = Math.min(shareBytes, off + WINDOW);
        const body = new PassThrough({ highWaterMark: MiB });
        inFlight.push(client.write(si, shnum, off, { stream: body, length: end - off }));
        for (let at = off; at < end; at += PIECE) {
          if (!body.write(Buffer.from(src.subarray(0, Math.min(PIECE, end - at))))) await new Promise((r) => body.once('drain', r));
        }
        body.end();
        while (inFlight.length > 2) await inFlight.shift();
      }
      await Promise.all(inFlight);
    }),
  );
}

async function measure(sizeMiB: number, tls: boolean): Promise<{ warmup: number; steady: number; wallMs: number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-bench-storage-'));
  const server = await spawnStorage(path.join(dir, 's'), BENCH_GRID_TOKEN, [], { tls });
  const client = new StorageClient({ url: server.url, token: BENCH_GRID_TOKEN });
  try {
    const cpu = async () => (await cpuSecondsOf(server.child.pid)) ?? NaN;
    const c0 = await cpu();
    await push(client, WARMUP_MiB * MiB, 1);
    const c1 = await cpu();
    const t0 = performance.now();
    await push(client, Math.ceil((sizeMiB * MiB) / SHARES), SHARES);
    const wallMs = performance.now() - t0;
    const c2 = await cpu();
    return { warmup: c1 - c0, steady: perGiB(c2 - c1, sizeMiB * MiB), wallMs };
  } finally {
    await client.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function benchStorageReceive(o: { sizeMiB: number }): Promise<BenchRow[]> {
  const http = await measure(o.sizeMiB, false);
  const tls = await measure(o.sizeMiB, true);
  return [
    {
      figure: `storage server receive, warm process: CPU-s per GiB received over pinned HTTPS (${o.sizeMiB} MiB, ${SHARES} shares)`,
      value: tls.steady,
      unit: 'CPU-s/GiB',
      baseline: http.steady,
      ratio: tls.steady / http.steady,
      note: `baseline: the same over plain HTTP; wall ${round(tls.wallMs / 1000, 1)} s vs ${round(http.wallMs / 1000, 1)} s`,
    },
    {
      figure: `storage server warm-up: CPU-s for its first ${WARMUP_MiB} MiB over pinned HTTPS`,
      value: tls.warmup,
      unit: 'CPU-s',
      note: `${round(perGiB(tls.warmup, WARMUP_MiB * MiB), 1)} CPU-s/GiB; plain HTTP ${round(http.warmup, 2)} CPU-s`,
    },
  ];
}
