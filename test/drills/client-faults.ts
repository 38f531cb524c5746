import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadConvergenceSecret } from '../../client/state-dir.js';
import { convergentKey } from '../../core/crypto/convergent-key.js';
import { formatStorageIndex, storageIndexFromKey } from '../../core/storage-index.js';
import { HelperCalls } from '../support/helper-client.js';
import { startProxy } from '../support/proxy.js';
import { CLIENT_TOKEN, FERRY, GRID_TOKEN, sleep, track, startHelperProc, startStorage, type Drill, type DrillContext, type Proc } from './lib.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SEGMENT = 256 * KiB + 2; // 256 KiB rounded up to a multiple of k = 3

interface Grid {
  storage: Proc[];
  helper: Proc;
  close(): Promise<void>;
}

async function startGrid(ctx: DrillContext): Promise<Grid> {
  const storage: Proc[] = [];
  for (let i = 0; i < 10; i++) storage.push(await startStorage(path.join(ctx.dir, `s${i}`)));
  const helper = await startHelperProc(ctx.dir, { storageServers: storage.map((s) => ({ url: s.url, token: GRID_TOKEN })), limits: { commitEvery: '256KiB' } });
  return {
    storage,
    helper,
    close: async () => {
      await helper.kill();
      await Promise.all(storage.map((s) => s.kill()));
    },
  };
}

function put(ctx: DrillContext, helperUrl: string, file: string, extra: string[] = []) {
  const child = track(spawn(process.execPath, [FERRY, 'put', file, '--helper', helperUrl, '--token', CLIENT_TOKEN, '--state-dir', path.join(ctx.dir, 'client-state'), '--segment-size', '256KiB', '--json', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HOME: ctx.dir },
  }));
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, exited, output: () => out, errors: () => err };
}

/** The gateway's copy of a cap, compared with the original bytes. */
async function downloadsIdentical(helperUrl: string, cap: string, plain: Buffer): Promise<boolean> {
  const res = await fetch(`${helperUrl}/uri/${cap}`);
  return res.status === 200 && Buffer.from(await res.arrayBuffer()).equals(plain);
}

/** `ferry put` killed with -9 at random points, restarted each time: completes, same cap, at most one segment re-sent per restart. */
export function clientKillDrill(sizeMiB: number, kills: number): Drill {
  return {
    name: `client kill -9 at ${kills} random points (${sizeMiB} MiB)`,
    async run(ctx) {
      const grid = await startGrid(ctx);
      // Slow enough that twenty kills land at different points of one upload.
      const proxy = await startProxy(grid.helper.url, { bytesPerSecond: Math.max(MiB, (sizeMiB * MiB) / (kills * 0.5)) });
      try {
        const plain = randomBytes(sizeMiB * MiB);
        const file = path.join(ctx.dir, 'file');
        await writeFile(file, plain);
        const h = new HelperCalls(grid.helper.url, CLIENT_TOKEN);
        // The storage index the client will use: its own secret (created up front) and the file.
        const stateDir = path.join(ctx.dir, 'client-state');
        const si = formatStorageIndex(storageIndexFromKey(await convergentKey(await loadConvergenceSecret(stateDir), { k: 3, n: 10, maxSegmentSize: 256 * KiB }, plain)));
        const received = async () => Number((await h.job(si)).json.received ?? 0);
        let killed = 0;
        let last: ReturnType<typeof put> | undefined;
        let before = 0;
        while (killed < kills) {
          last = put(ctx, proxy.url, file);
          // A random point: once this run has moved the upload on, after a random extra delay.
          const deadline = Date.now() + 20_000;
          while (Date.now() < deadline && (await received().catch(() => 0)) <= before && last.child.exitCode === null) await sleep(10);
          await sleep(Math.random() * 150);
          if (last.child.exitCode !== null) break; // finished before this kill: it is the final run
          last.child.kill('SIGKILL');
          await last.exited;
          killed++;
          await sleep(50); // the helper commits what it verified when the connection drops
          before = await received();
        }
        ctx.log(`killed ${killed} times`);
        const finishedEarly = last?.child.exitCode !== null && last?.child.exitCode !== undefined ? last : undefined;
        const final = finishedEarly ?? put(ctx, proxy.url, file);
        const code = await final.exited;
        ctx.check('the last run exits 0', code === 0, final.errors().slice(-300));
        const result = JSON.parse(final.output() || '{}') as { cap?: string; hashed?: boolean; storageIndex?: string; resumedFrom?: number; sentBytes?: number };
        ctx.check('it did not hash the file again (journal)', result.hashed === false || killed === 0, `hashed ${result.hashed}`);
        ctx.check('it sent only what the helper still lacked', (result.sentBytes ?? Infinity) <= plain.length - (result.resumedFrom ?? 0), `${result.sentBytes} of ${plain.length - (result.resumedFrom ?? 0)}`);
        // Over all runs, the link carried the file once plus at most one segment per restart
        // (and a little protocol: the check's hash list, tus headers).
        const allowance = plain.length + killed * SEGMENT + (killed + 1) * 16 * KiB;
        ctx.check(`in all, at most one segment was re-sent per restart`, proxy.bytesUp <= allowance, `${proxy.bytesUp} bytes on the link for a ${plain.length}-byte file and ${killed} restarts; allowance ${allowance}`);
        ctx.check('the cap is for the storage index every run worked on', result.storageIndex === si, String(result.storageIndex));
        ctx.check('the cap downloads byte-identical', Boolean(result.cap) && (await downloadsIdentical(grid.helper.url, result.cap!, plain)));
        const job = (await h.job(si)).json;
        ctx.check('the job is done', job.state === 'done', String(job.state));
      } finally {
        await proxy.close();
        await grid.close();
      }
    },
  };
}

/** A link that cuts every 5 MiB (a quarter of the file when smaller: at least 3 cuts), and one that stalls: `ferry put` completes through both. */
export function flakyLinkDrill(sizeMiB: number): Drill {
  const cutEvery = Math.min(5 * MiB, Math.floor((sizeMiB * MiB) / 4));
  // Connections that were not cut carry less than `cutEvery` each, and only the last PATCH carries
  // file bytes without being cut; so the file alone needs this many cuts.
  const minCuts = Math.floor((sizeMiB * MiB) / cutEvery) - 1;
  return {
    name: `flaky link: cut every ${(cutEvery / MiB).toFixed(1)} MiB, then a stalled connection (${sizeMiB} MiB)`,
    async run(ctx) {
      const grid = await startGrid(ctx);
      try {
        for (const mode of ['cut', 'stall'] as const) {
          const plain = randomBytes(sizeMiB * MiB);
          const file = path.join(ctx.dir, `file-${mode}`);
          await writeFile(file, plain);
          const proxy = await startProxy(grid.helper.url, mode === 'cut' ? { cutEvery } : {});
          if (mode === 'stall') proxy.stallNext(2 * MiB, 1);
          const run = put(ctx, proxy.url, file, ['--stall-timeout', '2s']);
          const code = await run.exited.finally(() => proxy.close());
          const result = JSON.parse(run.output() || '{}') as { cap?: string };
          ctx.check(`${mode}: ferry put completes`, code === 0, run.errors().slice(-300));
          ctx.check(`${mode}: the link really ${mode === 'cut' ? 'cut connections' : 'stalled'}`, mode === 'cut' ? proxy.cuts >= minCuts : proxy.stalls >= 1, `${proxy.cuts} cuts (at least ${minCuts}), ${proxy.stalls} stalls`);
          ctx.check(`${mode}: the cap downloads byte-identical`, Boolean(result.cap) && (await downloadsIdentical(grid.helper.url, result.cap!, plain)));
        }
      } finally {
        await grid.close();
      }
    },
  };
}
