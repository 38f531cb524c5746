import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cipherReady } from '../../core/crypto/cipher.js';
import { cliEnv, ensureBuilt, ferry, spawnFerry, stopSpawned } from '../support/cli.js';
import { CLIENT_TOKEN, GRID_TOKEN, startGrid, type TestGrid } from '../support/grid.js';
import { startProxy, type TcpProxy } from '../support/proxy.js';
import { reassembleCap } from '../support/reassemble.js';
import { tempDir } from '../support/tmp.js';

beforeAll(async () => {
  await ensureBuilt();
  await cipherReady();
}, 120_000);

let grid: TestGrid | undefined;
let proxy: TcpProxy | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await stopSpawned();
  await proxy?.close();
  await grid?.close();
  proxy = grid = undefined;
  for (const c of cleanups.splice(0)) await c();
});

const KiB = 1024;
const MiB = 1024 * KiB;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ferry put killed with -9 and started again', () => {
  it('resumes without hashing again, re-sends at most one segment, and yields the same cap', async () => {
    // Small commits so the helper's offset follows the upload closely; a throttled link so it can be killed mid-way.
    grid = await startGrid({ helper: { limits: { commitEvery: 256 * KiB } } });
    proxy = await startProxy(grid.helper.url, { bytesPerSecond: 6 * MiB });
    const { dir, cleanup } = await tempDir('ferry-resume-');
    cleanups.push(cleanup);
    const file = path.join(dir, 'big');
    const size = 24 * MiB + 77;
    const plain = randomBytes(size);
    await writeFile(file, plain);
    const env = cliEnv(dir);
    const args = ['put', file, '--helper', proxy.url, '--token', CLIENT_TOKEN, '--state-dir', path.join(dir, 'state'), '--segment-size', '256KiB', '--json'];
    const segmentSize = 256 * KiB + 2; // rounded up to a multiple of k=3

    const first = spawnFerry(args, { cwd: dir, env, stdio: 'ignore' });
    const firstExit = new Promise((r) => first.on('close', r));
    const jobs = grid.helper.helper.jobs;
    let received = 0;
    for (let t = 0; t < 600 && received < 4 * MiB; t++) {
      await sleep(25);
      received = Math.max(0, ...(await jobs.list()).map((j) => j.received));
    }
    expect(received, 'the helper never saw the upload progress').toBeGreaterThanOrEqual(4 * MiB);
    first.kill('SIGKILL');
    await firstExit;
    // The helper commits what it verified when the connection drops; wait for that to settle.
    let offsetAtRestart = -1;
    for (let t = 0; t < 40; t++) {
      await sleep(50);
      const now = Math.max(...(await jobs.list()).map((j) => j.received));
      if (now === offsetAtRestart) break;
      offsetAtRestart = now;
    }
    expect(offsetAtRestart).toBeLessThan(size);

    // Counters are not reset: the bytes of both runs together are what a user pays for.
    proxy.bytesPerSecond = undefined;
    const second = await ferry(args, { cwd: dir, env });
    expect(second.code, second.stderr.toString()).toBe(0);
    const r = JSON.parse(second.stdout.toString()) as { cap: string; hashed: boolean; resumedFrom: number; sentBytes: number; outcome: string };
    expect(r.hashed).toBe(false);
    expect(r.outcome).toBe('uploaded');
    expect(r.resumedFrom).toBeGreaterThanOrEqual(offsetAtRestart);
    expect(r.sentBytes).toBe(size - r.resumedFrom);
    // On the wire over both runs: the file once, at most one segment more (the one cut by the
    // kill), and some HTTP. A helper that lost acknowledged bytes would need them again.
    expect(proxy.bytesUp).toBeLessThanOrEqual(size + segmentSize + 64 * KiB);

    const back = await reassembleCap({ urls: grid.storage.map((s) => s!.url), token: GRID_TOKEN }, r.cap);
    expect(back.equals(plain)).toBe(true);

    // A fresh run (journal entry gone: it hashes again) arrives at the same cap.
    const third = await ferry(args, { cwd: dir, env });
    expect(third.code, third.stderr.toString()).toBe(0);
    expect(JSON.parse(third.stdout.toString())).toMatchObject({ cap: r.cap, hashed: true, outcome: 'already-present', sentBytes: 0 });
  });
});
