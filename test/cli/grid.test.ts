import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseReadCap } from '../../core/capability.js';
import { cipherReady } from '../../core/crypto/cipher.js';
import { formatStorageIndex, storageIndexFromKey } from '../../core/storage-index.js';
import { cliEnv, ensureBuilt, ferry, startFerry } from '../support/cli.js';
import { reassemble } from '../support/reassemble.js';
import { tempDir } from '../support/tmp.js';

beforeAll(async () => {
  await ensureBuilt();
  await cipherReady();
}, 120_000);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface GridJson {
  helperUrl: string;
  storage: { url: string; serverId: string }[];
}

async function startGridCli(cwd: string, home: string) {
  const g = await startFerry(['grid', '--home', home, '--port', '0', '--servers', '10', '--log-level', 'silent'], { cwd, ready: 'Ctrl-C stops the grid' });
  const stop = async () => {
    if (g.child.exitCode === null) g.child.kill('SIGINT');
    return g.exited;
  };
  cleanups.push(async () => {
    await stop();
  });
  return { ...g, stop, info: JSON.parse(await readFile(path.join(home, 'grid.json'), 'utf8')) as GridJson };
}

describe('ferry grid, put and get (end to end, separate processes)', () => {
  it('put then get is byte-identical; the grid stops on Ctrl-C and finds its shares after a restart', async () => {
    const { dir, cleanup } = await tempDir('ferry-cli-grid-');
    cleanups.push(cleanup);
    const home = path.join(dir, 'grid-home');
    const env = cliEnv(dir);
    const grid = await startGridCli(dir, home);
    expect(grid.output()).toContain(grid.info.helperUrl);
    expect(grid.output()).toMatch(/admin: +http:\/\/127\.0\.0\.1:\d+\/admin\//);
    const client = JSON.parse(await readFile(path.join(home, 'client.json'), 'utf8')) as { helperUrl: string; token: string };
    expect(client.helperUrl).toBe(grid.info.helperUrl);
    expect(existsSync(path.join(home, 'admin-token'))).toBe(true);

    const file = path.join(dir, 'bigfile');
    const plain = randomBytes(3 * 1024 * 1024 + 12_345);
    await writeFile(file, plain);
    const put = await ferry(['put', file, '--home', home, '--json'], { cwd: dir, env });
    expect(put.code, put.stderr.toString()).toBe(0);
    const result = JSON.parse(put.stdout.toString()) as { cap: string; outcome: string; hashed: boolean; size: number };
    expect(result).toMatchObject({ outcome: 'uploaded', hashed: true, size: plain.length });

    // The shares on the grid decode to the file, whatever the gateway does.
    const cap = parseReadCap(result.cap);
    const gridToken = (await readFile(path.join(home, 'grid-token'), 'utf8')).trim();
    const si = formatStorageIndex(storageIndexFromKey(cap.key));
    const back = await reassemble({ urls: grid.info.storage.map((s) => s.url), token: gridToken, si, key: cap.key, uebHash: cap.uebHash });
    expect(back.equals(plain)).toBe(true);

    const copy = path.join(dir, 'copy');
    const get = await ferry(['get', result.cap, '-o', copy, '--home', home], { cwd: dir, env });
    expect(get.code, get.stderr.toString()).toBe(0);
    expect((await readFile(copy)).equals(plain)).toBe(true);
    const toStdout = await ferry(['get', result.cap, '-o', '-', '--home', home], { cwd: dir, env });
    expect(toStdout.code).toBe(0);
    expect(toStdout.stdout.equals(plain)).toBe(true);

    const status = await ferry(['status', '--json', '--home', home], { cwd: dir, env });
    expect(JSON.parse(status.stdout.toString())).toMatchObject({ grid: { running: true }, helper: { reachable: true }, transfers: [] });

    expect(await grid.stop()).toBe(0);
    expect(existsSync(path.join(home, 'grid.json'))).toBe(false);

    // New ports, same server ids from the same dirs: the helper finds the shares.
    const again = await startGridCli(dir, home);
    expect(again.info.storage.map((s) => s.serverId)).toEqual(grid.info.storage.map((s) => s.serverId));
    const second = await ferry(['put', file, '--home', home, '--json'], { cwd: dir, env });
    expect(second.code, second.stderr.toString()).toBe(0);
    expect(JSON.parse(second.stdout.toString())).toMatchObject({ outcome: 'already-present', cap: result.cap });
    expect(await again.stop()).toBe(0);
  });

  it('ferry grid finds ./.ferry by default, and put prints only the cap', async () => {
    const { dir, cleanup } = await tempDir('ferry-cli-default-');
    cleanups.push(cleanup);
    const env = cliEnv(dir);
    const grid = await startFerry(['grid', '--port', '0', '--servers', '3', '--log-level', 'silent'], { cwd: dir, env, ready: 'Ctrl-C stops the grid' });
    cleanups.push(async () => {
      if (grid.child.exitCode === null) grid.child.kill('SIGINT');
      await grid.exited;
    });
    expect(grid.output()).toContain('npx ferry put FILE\n');
    await writeFile(path.join(dir, 'small'), 'hello ferry\n');
    const put = await ferry(['put', 'small', '--k', '3', '--n', '3', '--happy', '3'], { cwd: dir, env });
    expect(put.code, put.stderr.toString()).toBe(0);
    expect(put.stdout.toString()).toMatch(/^ferry-chk:[a-z2-7]{52}:[a-z2-7]{52}:3:3:12\n$/);
    expect(put.stderr.toString()).toBe(''); // not a TTY: no progress bar
  });
});
