import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeGrid, startStorageServers } from '../../cli/local-grid.js';
import type { RunningStorageServer } from '../../storage/server.js';
import { ensureBuilt, startFerry, stopSpawned } from '../support/cli.js';
import { GRID_TOKEN } from '../support/grid.js';
import { tempDir } from '../support/tmp.js';

const A = 'client-token-a-0123456789abcdef';
const B = 'client-token-b-0123456789abcdef';

/**
 * Token rotation without downtime (docs/operations.md, "Deploying"): the
 * real `ferry helper` process re-reads its config on SIGHUP, takes new
 * client tokens and storage servers, logs what changed, keeps serving, and
 * refuses a bad config with one log line, the running one staying.
 */
describe('ferry helper: SIGHUP reloads the config', () => {
  let work: { dir: string; cleanup(): Promise<void> } | undefined;
  let storage: RunningStorageServer[] = [];

  beforeAll(async () => {
    await ensureBuilt();
    work = await tempDir('ferry-reload-');
    storage = await startStorageServers({ dir: work.dir, count: 10, token: GRID_TOKEN, options: { sweepOnStart: false, closeGraceMs: 200 } });
  }, 300_000);

  afterAll(async () => {
    await stopSpawned();
    await closeGrid(undefined, storage);
    await work?.cleanup();
  });

  it('rotates client tokens and the storage server list while serving; a bad config is refused and the old one stays', async () => {
    const file = path.join(work!.dir, 'helper.json');
    const config = (clientTokens: string[], servers: number, extra: object = {}) =>
      writeFile(
        file,
        JSON.stringify({ dataDir: 'helper-data', port: 0, clientTokens, storageServers: storage.slice(0, servers).map((s) => ({ url: s.url, token: GRID_TOKEN })), ...extra }),
      );
    await config([A], 10);
    const helper = await startFerry(['helper', '--config', file, '--log-level', 'info'], { cwd: work!.dir, ready: 'listening on' });
    const base = /listening on (http:\/\/[\d.]+:\d+)/.exec(helper.output())![1];
    const info = async (token: string) => {
      const res = await fetch(`${base}/helper/v1/info`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await res.json()) as { servers?: number; error?: string };
      return { status: res.status, servers: body.servers };
    };
    const count = (text: string) => helper.output().split(text).length - 1;
    const hangUp = async (logText: string) => {
      const before = count(logText);
      helper.child.kill('SIGHUP');
      const deadline = Date.now() + 20_000;
      while (count(logText) === before) {
        if (helper.child.exitCode !== null) throw new Error(`the helper exited on SIGHUP:\n${helper.output()}`);
        if (Date.now() > deadline) throw new Error(`no "${logText}" in the log after SIGHUP:\n${helper.output()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return helper.output().split('\n').filter((l) => l.includes(logText)).pop()!;
    };

    expect(await info(A)).toEqual({ status: 200, servers: 10 });
    expect((await info(B)).status).toBe(401);

    // Step 1 of a rotation: both tokens, and two storage servers retired.
    await config([A, B], 8);
    const added = await hangUp('config reloaded');
    expect(added).toMatch(/client tokens \+1 -0 \(2 now\), storage servers \+0 -2 \(8 now\)/);
    expect(added).not.toContain(B); // token ids, never tokens
    expect(await info(A)).toEqual({ status: 200, servers: 8 });
    expect(await info(B)).toEqual({ status: 200, servers: 8 });

    // Step 2, once every client uses B: A is gone.
    await config([B], 8);
    expect(await hangUp('config reloaded')).toMatch(/client tokens \+0 -1 \(1 now\)/);
    expect((await info(A)).status).toBe(401);
    expect((await info(B)).status).toBe(200);

    // A config that does not parse, or does not validate, is refused: B still works, A still does not.
    await writeFile(file, '{ "clientTokens": [');
    expect(await hangUp('config reload refused')).toMatch(/helper\.json/);
    await config(['too-short'], 8);
    expect(await hangUp('config reload refused')).toMatch(/clientTokens/);
    expect((await info(B)).status).toBe(200);
    expect((await info(A)).status).toBe(401);

    // A key that needs a restart is named, and the reloadable ones still apply.
    await config([B], 10, { limits: { concurrency: 3 } });
    expect(await hangUp('take effect at the next restart')).toContain('limits.concurrency');
    expect(await info(B)).toEqual({ status: 200, servers: 10 });
    expect(helper.child.exitCode).toBe(null);
  });
});
