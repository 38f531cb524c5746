import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { base32Encode } from '../../core/base32.js';
import { StorageClient } from '../../storage/client.js';
import { computeVector, plaintextOf, type VectorFile } from '../vectors/compute.js';
import { CLIENT_TOKEN, FERRY, GRID_TOKEN, startHelperProc, startStorage, type Drill, type DrillContext, type Proc } from './lib.js';

/** Runs one `ferry` command to its end. */
function ferry(ctx: DrillContext, args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [FERRY, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: ctx.dir } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}

/**
 * The largest segment size (64 MiB, rounded up to 64 MiB + 2 for k = 3):
 * test/vectors/large-vectors.json is recomputed, then its file goes through
 * `ferry put` (with the vector's convergence secret: same cap, same share
 * bytes), `ferry get` and `ferry check --verify`, which must find every share
 * good and report nothing.
 */
export function largestSegmentDrill(): Drill {
  return {
    name: 'largest segment size: 64 MiB + 3 bytes, k = 3, through put, get and check --verify',
    async run(ctx) {
      const vectors = JSON.parse(readFileSync(new URL('../vectors/large-vectors.json', import.meta.url), 'utf8')) as VectorFile;
      const v = vectors.vectors[0];
      const recomputed = await computeVector(v);
      ctx.check('Ferry computes the published large vector exactly', JSON.stringify(recomputed) === JSON.stringify(v));

      const dirs = Array.from({ length: v.n }, (_, i) => path.join(ctx.dir, `s${i}`));
      const storage: Proc[] = [];
      for (const d of dirs) storage.push(await startStorage(d));
      // n × 64 MiB is past the default limits.maxCodedSegmentBytes (256 MiB): an operator allows it explicitly.
      const helper = await startHelperProc(ctx.dir, { storageServers: storage.map((s) => ({ url: s.url, token: GRID_TOKEN })), limits: { maxCodedSegmentBytes: v.n * (v.maxSegmentSize + 64) } });
      const clients = storage.map((s) => new StorageClient({ url: s.url, token: GRID_TOKEN }));
      try {
        const plain = await plaintextOf(v.size);
        const file = path.join(ctx.dir, 'file');
        await writeFile(file, plain);
        const stateDir = path.join(ctx.dir, 'client-state');
        await mkdir(stateDir, { recursive: true });
        await writeFile(path.join(stateDir, 'convergence-secret'), `${base32Encode(Buffer.from(v.convergenceSecret, 'hex'))}\n`, { mode: 0o600 });
        const common = ['--helper', helper.url, '--token', CLIENT_TOKEN, '--state-dir', stateDir];

        const put = await ferry(ctx, ['put', file, ...common, '--k', String(v.k), '--n', String(v.n), '--happy', String(v.n), '--segment-size', String(v.maxSegmentSize), '--json', '--no-progress']);
        ctx.check('ferry put exits 0', put.code === 0, put.err.slice(-300));
        const cap = (JSON.parse(put.out || '{}') as { cap?: string }).cap;
        ctx.check("ferry put's read-cap is the vector's", cap === v.readCap, cap === v.readCap ? undefined : cap);

        const digests: string[] = [];
        for (let s = 0; s < v.n; s++) {
          const holder = dirs.map((d) => path.join(d, 'shares', v.storageIndex.slice(0, 2), v.storageIndex, String(s))).find((f) => existsSync(f));
          digests.push(holder ? createHash('sha256').update(await readFile(holder)).digest('hex') : 'missing');
        }
        const same = JSON.stringify(digests) === JSON.stringify(v.shareSha256);
        ctx.check("the stored shares are the vector's, byte for byte", same, same ? undefined : digests.join(' '));

        const out = path.join(ctx.dir, 'out');
        const get = await ferry(ctx, ['get', v.readCap, '-o', out, ...common, '--no-progress']);
        ctx.check('ferry get exits 0', get.code === 0, get.err.slice(-300));
        ctx.check('and writes the file byte-identical', existsSync(out) && (await readFile(out)).equals(plain));

        const check = await ferry(ctx, ['check', v.readCap, '--verify', '--json', ...common]);
        const report = JSON.parse(check.out || '{}') as { healthy?: boolean; verified?: string; goodShares?: number; corrupt?: unknown[] };
        ctx.check('ferry check --verify exits 0: healthy', check.code === 0 && report.healthy === true, check.code === 0 ? undefined : `exit ${check.code}: ${check.err.slice(-300)}`);
        const allGood = report.verified === 'full' && report.goodShares === v.n && report.corrupt?.length === 0;
        ctx.check('every share verified good, none called corrupt', allGood, allGood ? undefined : JSON.stringify(report).slice(0, 600));
        const reports = await Promise.all(clients.map(async (c) => (await c.status()).corruption.count));
        ctx.check('no corruption was reported to any storage server', reports.every((r) => r === 0), reports.join(','));
      } finally {
        await Promise.all(clients.map((c) => c.close()));
        await helper.kill();
        await Promise.all(storage.map((s) => s.kill()));
      }
    },
  };
}
