/**
 * Where `ferry get` writes, decided before any byte is downloaded: never
 * binary to a terminal unless asked, never over a file without --force,
 * inside a directory given as -o, a plain error for a missing directory.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, ensureBuilt, ferry, FERRY_BIN, stopSpawned } from '../support/cli.js';
import { putFile, type StoredFile } from '../support/gateway-fixture.js';
import { startGrid, type TestGrid } from '../support/grid.js';
import { tempDir } from '../support/tmp.js';

let grid: TestGrid;
let file: StoredFile;
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  await ensureBuilt();
  grid = await startGrid();
  file = await putFile(grid, randomBytes(200_000));
  ({ dir, cleanup } = await tempDir('ferry-get-output-'));
}, 180_000);
afterAll(async () => {
  await stopSpawned();
  await grid?.close();
  await cleanup?.();
});

const get = (args: string[]) => ferry(['get', file.cap, '--helper', grid.helper.url, ...args], { cwd: dir, env: cliEnv(dir) });
const lines = (b: Buffer) => b.toString().trim().split('\n');
const servedSoFar = () => grid.helper.helper.gateway.stats.bytesServed;

describe('ferry get -o', () => {
  it('writes FILE, says what it saved on stderr, and refuses to overwrite it without --force', async () => {
    const dest = path.join(dir, 'copy.bin');
    const first = await get(['-o', dest]);
    expect(first.code, first.stderr.toString()).toBe(0);
    expect((await readFile(dest)).equals(file.plain)).toBe(true);
    expect(lines(first.stderr)).toEqual([`ferry: saved 195.3 KiB to ${dest}`]);

    await writeFile(dest, 'keep me');
    const before = servedSoFar();
    const again = await get(['-o', dest]);
    expect(again.code).toBe(2);
    expect(lines(again.stderr)).toEqual([`ferry: ${dest} already exists; pass --force to overwrite it`]);
    expect(await readFile(dest, 'utf8')).toBe('keep me');
    expect(servedSoFar()).toBe(before); // refused before downloading

    const forced = await get(['-o', dest, '--force']);
    expect(forced.code, forced.stderr.toString()).toBe(0);
    expect((await readFile(dest)).equals(file.plain)).toBe(true);
  }, 60_000);

  it('saves inside a directory, named by the storage index, and leaves no .part behind', async () => {
    const into = path.join(dir, 'downloads');
    await mkdir(into);
    const r = await get(['-o', into]);
    expect(r.code, r.stderr.toString()).toBe(0);
    expect(await readdir(into)).toEqual([file.f.si]);
    expect((await readFile(path.join(into, file.f.si))).equals(file.plain)).toBe(true);
  }, 60_000);

  it('a missing parent directory is one plain line (exit 2), before downloading', async () => {
    const before = servedSoFar();
    const dest = path.join(dir, 'no-such-dir', 'x');
    const r = await get(['-o', dest]);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([`ferry: cannot write ${dest}: directory ${path.dirname(dest)} does not exist`]);
    expect(servedSoFar()).toBe(before);
  }, 60_000);

  // A pseudo-terminal on stdout needs util-linux `script`.
  const hasScript = spawnSync('script', ['--version']).status === 0;
  it.skipIf(!hasScript)('refuses to write the file to a terminal unless -o - says so', async () => {
    const cmd = `"${process.execPath}" "${FERRY_BIN}" get ${file.cap} --helper ${grid.helper.url}`;
    // Not spawnSync: the grid serving the download lives in this process.
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { cwd: dir, env: cliEnv(dir), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(2);
    expect(out).toContain('refusing to write the file to a terminal: pass -o FILE (or -o - to do it anyway)');
    expect(existsSync(path.join(dir, `${file.f.si}.part`))).toBe(false);
  }, 60_000);
});
