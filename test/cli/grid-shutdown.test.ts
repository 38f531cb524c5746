import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, ensureBuilt, spawnFerry, startFerry, stopSpawned } from '../support/cli.js';
import { startProxy, type TcpProxy } from '../support/proxy.js';
import { tempDir } from '../support/tmp.js';

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);

let proxy: TcpProxy | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await stopSpawned();
  await proxy?.close();
  proxy = undefined;
  for (const c of cleanups.splice(0)) await c();
});

const MiB = 1024 * 1024;
const READY = 'Ctrl-C stops the grid';

describe('ferry grid stopped with Ctrl-C while a put is streaming into it', () => {
  it('exits 0 and says only that it is shutting down: a cut upload is not a warning, and no stack trace', async () => {
    const { dir, cleanup } = await tempDir('ferry-grid-stop-');
    cleanups.push(cleanup);
    const home = path.join(dir, 'home');
    const env = cliEnv(dir);
    // The default log level: what a user sees in the terminal.
    const grid = await startFerry(['grid', '--home', home, '--port', '0', '--servers', '3'], { cwd: dir, env, ready: READY });
    const before = grid.output();
    const { helperUrl } = JSON.parse(await readFile(path.join(home, 'grid.json'), 'utf8')) as { helperUrl: string };
    const { token } = JSON.parse(await readFile(path.join(home, 'client.json'), 'utf8')) as { token: string };
    // A slow link, so the put is mid-stream when the grid stops.
    proxy = await startProxy(helperUrl, { bytesPerSecond: 4 * MiB });
    const file = path.join(dir, 'big');
    await writeFile(file, randomBytes(16 * MiB));
    spawnFerry(['put', file, '--helper', proxy.url, '--token', token, '--state-dir', path.join(dir, 'state')], { cwd: dir, env, stdio: 'ignore' });
    for (const deadline = Date.now() + 30_000; proxy.bytesUp < 2 * MiB; ) {
      if (Date.now() > deadline) throw new Error('the put never started streaming');
      await new Promise((r) => setTimeout(r, 25));
    }

    grid.child.kill('SIGINT');
    expect(await grid.exited).toBe(0);
    const after = grid.output().slice(before.length);
    expect(after.trim().split('\n')).toEqual(['ferry grid: SIGINT, shutting down']);
  });
});
