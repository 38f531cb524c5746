/**
 * `ferry get` as a user runs it: interrupted (SIGINT) part-way through a slow
 * download, then run again: it resumes from FILE.part and the result is the
 * exact file. Also `-o -` to stdout.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReadCap, parseReadCap } from '../../core/capability.js';
import { cliEnv, ensureBuilt, ferry, spawnFerry, stopSpawned } from '../support/cli.js';
import { startDownLink, type DownLink } from '../support/download-link.js';
import { putFile, type StoredFile } from '../support/gateway-fixture.js';
import { CLIENT_TOKEN, startGrid, type TestGrid } from '../support/grid.js';
import { tempDir } from '../support/tmp.js';

let grid: TestGrid;
let link: DownLink;
let file: StoredFile;
let dir: string;
let cleanup: () => Promise<void>;
const SIZE = 6 * 1024 * 1024 + 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  await ensureBuilt();
  grid = await startGrid();
  file = await putFile(grid, randomBytes(SIZE));
  link = await startDownLink(grid.helper.url, { bytesPerSecond: 3 * 1024 * 1024 });
  ({ dir, cleanup } = await tempDir('ferry-get-'));
}, 180_000);
afterAll(async () => {
  await stopSpawned();
  await link?.close();
  await grid?.close();
  await cleanup?.();
});

describe('ferry get', () => {
  it('interrupted with Ctrl-C, then run again: resumes from FILE.part and yields identical bytes', async () => {
    const dest = path.join(dir, 'got.bin');
    const env = cliEnv(dir);
    const args = (helper: string) => ['get', file.cap, '-o', dest, '--helper', helper, '--token', CLIENT_TOKEN];
    const first = spawnFerry(args(link.url), { cwd: dir, env });
    let stderr = '';
    first.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((r) => first.on('close', (code) => r(code)));
    let partSize = 0;
    for (let t = 0; t < 400 && partSize < 1024 * 1024; t++) {
      await sleep(25);
      partSize = existsSync(`${dest}.part`) ? (await stat(`${dest}.part`)).size : 0;
    }
    expect(partSize, 'the download never got going').toBeGreaterThanOrEqual(1024 * 1024);
    first.kill('SIGINT');
    const code = await exited;
    expect(code, stderr).not.toBe(0);
    expect(stderr).toMatch(/interrupted/);
    expect(existsSync(dest)).toBe(false);
    const kept = (await stat(`${dest}.part`)).size;
    expect(kept).toBeGreaterThanOrEqual(partSize);
    expect(kept).toBeLessThan(SIZE);

    const stats = grid.helper.helper.gateway.stats;
    const before = stats.bytesServed;
    const second = await ferry(args(grid.helper.url), { cwd: dir, env });
    expect(second.code, second.stderr.toString()).toBe(0);
    expect((await readFile(dest)).equals(file.plain)).toBe(true);
    expect(existsSync(`${dest}.part`)).toBe(false);
    // Only the rest crossed the wire the second time.
    expect(stats.bytesServed - before).toBe(SIZE - kept);
  }, 60_000);

  it('-o - streams to stdout', async () => {
    const r = await ferry(['get', file.cap, '-o', '-', '--helper', grid.helper.url], { cwd: dir, env: cliEnv(dir) });
    expect(r.code, r.stderr.toString()).toBe(0);
    expect(r.stdout.equals(file.plain)).toBe(true);
  }, 60_000);

  it('a well-formed cap whose key does not match the stored file: says so in plain words, exits non-zero', async () => {
    const cap = parseReadCap(file.cap);
    const key = Uint8Array.from(cap.key);
    key[0] ^= 0x01; // one bit off: still a valid cap, but not this file's
    const wrong = formatReadCap({ ...cap, key });
    const dest = path.join(dir, 'wrong.bin');
    const r = await ferry(['get', wrong, '-o', dest, '--helper', grid.helper.url, '--token', CLIENT_TOKEN], { cwd: dir, env: cliEnv(dir) });
    expect(r.code).not.toBe(0);
    const stderr = r.stderr.toString();
    expect(stderr).toMatch(/cap(ability)? may not match the stored file/);
    expect(stderr).not.toMatch(/UEB|\n\s+at /);
    expect(existsSync(dest)).toBe(false);
  }, 60_000);
});
