/**
 * The client's state dir as `ferry put` leaves it: private (0700), the
 * convergence secret 0600, the journal inside a 0700 dir; and a corrupt
 * convergence-secret file is an error that names it and leaves it as it was
 * (a silently replaced secret would change every later file's key).
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, ensureBuilt, ferry, stopSpawned } from '../support/cli.js';
import { CLIENT_TOKEN, startGrid, type TestGrid } from '../support/grid.js';
import { tempDir } from '../support/tmp.js';

let grid: TestGrid | undefined;
let dir: string;
let cleanup: (() => Promise<void>) | undefined;
beforeAll(async () => {
  await ensureBuilt();
  grid = await startGrid();
  ({ dir, cleanup } = await tempDir('ferry-state-'));
  await writeFile(path.join(dir, 'f'), randomBytes(100_000));
}, 120_000);
afterAll(async () => {
  await stopSpawned();
  await grid?.close();
  await cleanup?.();
});

const modeOf = async (p: string) => (await stat(p)).mode & 0o777;
const put = (stateDir: string) => ferry(['put', 'f', '--helper', grid!.helper.url, '--token', CLIENT_TOKEN, '--state-dir', stateDir, '--json'], { cwd: dir, env: cliEnv(dir) });

describe('ferry state dir', () => {
  it('is created private: dir 0700, secret 0600, journal in a 0700 dir', async () => {
    const state = path.join(dir, 'fresh');
    const r = await put(state);
    expect(r.code, r.stderr.toString()).toBe(0);
    expect(await modeOf(state)).toBe(0o700);
    expect(await modeOf(path.join(state, 'convergence-secret'))).toBe(0o600);
    expect(await modeOf(path.join(state, 'journal'))).toBe(0o700);
  });

  it('an existing state dir and secret that others could read are made private (0700, 0600) and keep their secret', async () => {
    const state = path.join(dir, 'loose');
    await mkdir(state);
    await chmod(state, 0o755);
    const secret = path.join(state, 'convergence-secret');
    const first = await put(path.join(dir, 'fresh'));
    expect(first.code, first.stderr.toString()).toBe(0);
    await writeFile(secret, await readFile(path.join(dir, 'fresh', 'convergence-secret')));
    await chmod(secret, 0o644);
    const r = await put(state);
    expect(r.code, r.stderr.toString()).toBe(0);
    expect(await modeOf(state)).toBe(0o700);
    expect(await modeOf(secret)).toBe(0o600);
    // Same secret, same file: the same cap as from the fresh dir.
    expect(JSON.parse(r.stdout.toString()).cap).toBe(JSON.parse(first.stdout.toString()).cap);
  });

  it('refuses a corrupt convergence secret by name and leaves the file alone', async () => {
    const state = path.join(dir, 'corrupt');
    await mkdir(state, { mode: 0o700 });
    const secret = path.join(state, 'convergence-secret');
    await writeFile(secret, 'not-a-secret\n', { mode: 0o600 });
    const r = await put(state);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBe(null);
    expect(r.stderr.toString()).toMatch(/convergence-secret does not hold a valid convergence secret/);
    expect(r.stderr.toString()).not.toMatch(/\n\s+at /); // one line, no stack
    expect(await readFile(secret, 'utf8')).toBe('not-a-secret\n');
  });
});
