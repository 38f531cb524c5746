/**
 * A read-cap is read access: after a real `ferry put` and `ferry get`
 * through `ferry grid` (logging every request), nothing in the grid's log
 * holds the cap's key, however the client spelled the URL.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, ensureBuilt, ferry, startFerry } from '../support/cli.js';
import { tempDir } from '../support/tmp.js';

let dir: string;
let cleanup: () => Promise<void>;
let grid: Awaited<ReturnType<typeof startFerry>> | undefined;

beforeAll(async () => {
  await ensureBuilt();
  ({ dir, cleanup } = await tempDir('ferry-get-log-'));
}, 120_000);
afterAll(async () => {
  if (grid && grid.child.exitCode === null) {
    grid.child.kill('SIGINT');
    await grid.exited;
  }
  await cleanup?.();
});

describe('the helper log after ferry get', () => {
  it('holds the request lines but never the read-cap', async () => {
    const home = path.join(dir, 'home');
    const env = cliEnv(dir);
    grid = await startFerry(['grid', '--home', home, '--port', '0', '--servers', '10', '--log-level', 'info'], { cwd: dir, env, ready: 'Ctrl-C stops the grid' });
    const src = path.join(dir, 'file.bin');
    await writeFile(src, randomBytes(200_000));
    const put = await ferry(['put', src, '--home', home, '--no-progress'], { cwd: dir, env });
    expect(put.code, put.stderr.toString()).toBe(0);
    const cap = put.stdout.toString().trim();
    const [, key, hash] = cap.split(':');
    const get = await ferry(['get', cap, '-o', path.join(dir, 'copy.bin'), '--home', home, '--no-progress'], { cwd: dir, env });
    expect(get.code, get.stderr.toString()).toBe(0);
    expect((await readFile(path.join(dir, 'copy.bin'))).equals(await readFile(src))).toBe(true);
    const log = grid.output();
    expect(log).toMatch(/GET \/uri\/<read-cap> 200/); // the positive control: requests are logged
    expect(log).not.toContain(key);
    expect(log).not.toContain(hash);
  }, 120_000);
});
