import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Journal } from '../../client/journal.js';
import { JOURNAL_DIR } from '../../client/state-dir.js';
import { cliEnv, ensureBuilt, ferry, startFerry, stopSpawned } from '../support/cli.js';
import { tempDir } from '../support/tmp.js';

/** Issue 17, "never hang": a grid too small for `happy` fails with the reason instead of waiting forever. */
let dir: string;
let cleanup: () => Promise<void>;
let stopGrid: () => Promise<unknown>;
let banner: string;
const env = () => cliEnv(dir);

beforeAll(async () => {
  await ensureBuilt();
  ({ dir, cleanup } = await tempDir('ferry-cli-never-hang-'));
  const grid = await startFerry(['grid', '--port', '0', '--servers', '3', '--log-level', 'silent'], { cwd: dir, env: env(), ready: 'Ctrl-C stops the grid' });
  banner = grid.output();
  stopGrid = async () => {
    if (grid.child.exitCode === null) grid.child.kill('SIGINT');
    return grid.exited;
  };
  await writeFile(path.join(dir, 'small'), 'hello ferry\n');
}, 120_000);
afterAll(async () => {
  await stopGrid?.();
  await stopSpawned();
  await cleanup?.();
});

describe('ferry with fewer storage servers than happy', () => {
  it('ferry grid --servers 3 picks defaults three servers can meet, and put succeeds with them', async () => {
    expect(banner).toContain('with 3 storage servers (k=1 happy=3 n=3)');
    const put = await ferry(['put', 'small'], { cwd: dir, env: env() });
    expect(put.code, put.stderr.toString()).toBe(0);
    expect(put.stdout.toString()).toMatch(/^ferry-chk:[a-z2-7]{52}:[a-z2-7]{52}:1:3:12\n$/);
  });

  it('put exits 1 with the reason when happy can never be met, instead of waiting', async () => {
    await writeFile(path.join(dir, 'other'), 'another file\n');
    const put = await ferry(['put', 'other', '--k', '3', '--n', '10', '--happy', '7'], { cwd: dir, env: env() });
    expect(put.code).toBe(1);
    const lines = put.stderr.toString().trim().split('\n');
    expect(lines.at(-1)).toMatch(/^ferry: the helper cannot store other: happy=7 needs shares on 7 different storage servers but the helper knows 3/);
    expect(put.stdout.toString()).toBe('');
  });

  it('the helper URL that `ferry helper` prints (…/helper/v1) is accepted by --helper', async () => {
    const { helperUrl, token } = JSON.parse(await readFile(path.join(dir, '.ferry', 'client.json'), 'utf8')) as { helperUrl: string; token: string };
    const put = await ferry(['put', 'small', '--helper', `${helperUrl}/helper/v1`, '--token', token], { cwd: dir, env: env() });
    expect(put.code, put.stderr.toString()).toBe(0);
    expect(put.stderr.toString()).toBe('ferry: already stored: nothing sent\n'); // the first test stored it
  });
});

describe('ferry status', () => {
  it('exits 0 and says reachable/total when the grid is healthy', async () => {
    const r = await ferry(['status'], { cwd: dir, env: env() });
    expect(r.code, r.stderr.toString()).toBe(0);
    expect(r.stdout.toString()).toMatch(/helper: +http:\/\/127\.0\.0\.1:\d+: up, 3 of 3 storage servers reachable, defaults k=1 n=3 happy=3/);
  });

  it('exits 1 and says "refused" (not "unreachable") when the helper refuses the token', async () => {
    const r = await ferry(['status', '--token', 'not-the-token-0123456789'], { cwd: dir, env: env() });
    expect(r.code).toBe(1);
    expect(r.stdout.toString()).toMatch(/up, but it refused the client token/);
    // The helper's line (a transfer left by an earlier test may quote a job error that mentions unreachable servers).
    expect(r.stdout.toString().split('\n').find((l) => l.startsWith('helper:'))).not.toMatch(/unreachable/);
    expect(r.stderr.toString().trim()).toBe('ferry: not healthy: the helper refused the client token');
  });

  it('exits 1 when the helper is unreachable', async () => {
    const r = await ferry(['status', '--helper', 'http://127.0.0.1:1', '--token', 'some-token-0123456789abcdef', '--json'], { cwd: dir, env: env() });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout.toString())).toMatchObject({ helper: { reachable: false }, problems: ['the helper is unreachable'] });
  });

  it('does not count as unfinished an upload whose job the helper finished (e.g. through a copy of the file)', async () => {
    const stateDir = path.join(dir, 'status-state');
    await writeFile(path.join(dir, 'copy'), 'the same bytes\n');
    const put = await ferry(['put', 'copy', '--json', '--state-dir', stateDir], { cwd: dir, env: env() });
    expect(put.code, put.stderr.toString()).toBe(0);
    const { storageIndex } = JSON.parse(put.stdout.toString()) as { storageIndex: string };
    const { helperUrl } = JSON.parse(await readFile(path.join(dir, '.ferry', 'client.json'), 'utf8')) as { helperUrl: string };
    // What an interrupted put of the original left in the journal.
    const now = Date.now();
    await new Journal(path.join(stateDir, JOURNAL_DIR)).put({
      id: 'a'.repeat(32),
      file: { path: path.join(dir, 'original'), size: 15, mtimeMs: now, ino: 1, dev: 1 },
      params: { k: 1, n: 3, maxSegmentSize: 1024 * 1024 },
      happy: 3,
      keyMode: 'convergent',
      state: 'encoding',
      storageIndex,
      helperUrl,
      createdAt: now,
      updatedAt: now,
    });
    const r = await ferry(['status', '--state-dir', stateDir], { cwd: dir, env: env() });
    expect(r.code, r.stderr.toString()).toBe(0);
    expect(r.stdout.toString()).toContain('unfinished transfers: 0');
    expect(r.stdout.toString()).toContain(`${path.join(dir, 'original')}: stored (the helper finished it)`);
  });
});

describe('ferry helper with a config that can never succeed', () => {
  it('refuses to start (exit 2) when defaults.happy exceeds the configured storage servers', async () => {
    const config = path.join(dir, 'helper.json');
    await writeFile(
      config,
      JSON.stringify({
        dataDir: 'helper-data',
        clientTokens: ['client-token-0123456789abcdef'],
        storageServers: [
          { url: 'http://127.0.0.1:1', token: 'grid-token' },
          { url: 'http://127.0.0.1:2', token: 'grid-token' },
        ],
      }),
    );
    const r = await ferry(['helper', '--config', config, '--port', '0'], { cwd: dir, env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr.toString().trim().split('\n')).toEqual([
      expect.stringMatching(/^ferry: .*helper\.json: defaults\.happy is 7 but 2 storage servers are configured: no upload with the defaults could ever succeed/),
    ]);
  });
});
