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

/** Ferry's spool: check, then tus PATCHes until every segment is verified and fsynced (encoding not running). */
async function spoolUpload(file: BenchFile, dir: string): Promise<number> {
  const helper = await startHelper(parseHelperConfig({ dataDir: path.join(dir, 'helper'), port: 0, clientTokens: [TOKEN] }));
  void helper.helper.queue.stop(); // measure receiving only
  try {
    const t0 = performance.now();
    const answer = await tusPut(helper.url, TOKEN, file, file.params.k);
    if (answer.status !== 'send') throw new Error(`unexpected check answer ${JSON.stringify(answer)}`);
    return performance.now() - t0;
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
    const rawMs = await rawPut(file, base);
    const spoolMs = await spoolUpload(file, base);
    const raw = mbps(size, rawMs);
    const spool = mbps(size, spoolMs);
    return [{ figure: 'spool: client -> helper ciphertext', value: spool, unit: 'MB/s', baseline: raw, ratio: spool / raw, goal: '>= 0.9x', note: `${o.sizeMiB ?? 1024} MiB, raw PUT into a file as baseline` }];
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const size = Number(process.argv.find((a) => a.startsWith('--size='))?.slice(7) ?? 1024);
  printTable(await benchSpool({ sizeMiB: size }));
}
