/**
 * Two clients upload the same file at the same time through one helper: with
 * the same convergence secret (same key, so the same storage index and
 * ciphertext: the two race for one job), and with different secrets (two
 * storage indexes side by side). Every run finishes, the shared-secret pair
 * agrees on the cap, and each cap reads back the exact file.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConvergenceSecret, SECRET_FILE } from '../../client/state-dir.js';
import { upload, type UploadOptions } from '../../client/upload.js';
import { CLIENT_TOKEN, GRID_TOKEN, type TestGrid } from '../support/grid.js';
import { reassembleCap } from '../support/reassemble.js';
import { perTest } from '../support/per-test.js';

const each = perTest();

const SMALL = { maxSegmentSize: 64 * 1024, retry: { baseMs: 20, maxMs: 200 }, pollIntervalMs: 50 } satisfies Partial<UploadOptions>;

async function readBack(g: TestGrid, cap: string): Promise<Buffer> {
  return reassembleCap({ urls: g.storage.map((s) => s!.url), token: GRID_TOKEN }, cap);
}

describe('two clients, one file, at the same time', () => {
  it('with the same convergence secret: both finish with the same cap, and the file reads back', async () => {
    const grid = await each.grid();
    const t = { dir: await each.dir('ferry-concurrent-') };
    const plain = randomBytes(2 * 1024 * 1024 + 11);
    const file = path.join(t.dir, 'file');
    await writeFile(file, plain);
    const a = path.join(t.dir, 'a');
    const b = path.join(t.dir, 'b');
    await loadConvergenceSecret(a);
    await mkdir(b, { recursive: true, mode: 0o700 });
    await copyFile(path.join(a, SECRET_FILE), path.join(b, SECRET_FILE));
    const base = { helperUrl: grid.helper.url, token: CLIENT_TOKEN, ...SMALL };
    const [ra, rb] = await Promise.all([upload(file, { ...base, stateDir: a }), upload(file, { ...base, stateDir: b })]);
    expect(ra.cap).toBe(rb.cap);
    expect((await readBack(grid, ra.cap)).equals(plain)).toBe(true);
  });

  it('with different secrets: two storage indexes, both finish, both read back', async () => {
    const grid = await each.grid();
    const t = { dir: await each.dir('ferry-concurrent-') };
    const plain = randomBytes(1024 * 1024 + 5);
    const file = path.join(t.dir, 'file');
    await writeFile(file, plain);
    const base = { helperUrl: grid.helper.url, token: CLIENT_TOKEN, ...SMALL };
    const [ra, rb] = await Promise.all([upload(file, { ...base, stateDir: path.join(t.dir, 'a') }), upload(file, { ...base, stateDir: path.join(t.dir, 'b') })]);
    expect(ra.cap).not.toBe(rb.cap);
    for (const cap of [ra.cap, rb.cap]) expect((await readBack(grid, cap)).equals(plain)).toBe(true);
  });
});
