import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cipherReady } from '../../core/crypto/cipher.js';
import { upload, type UploadOptions } from '../../client/upload.js';
import { CLIENT_TOKEN, GRID_TOKEN, startGrid, type TestGrid } from '../support/grid.js';
import { startProxy, type TcpProxy } from '../support/proxy.js';
import { reassembleCap } from '../support/reassemble.js';
import { tempDir } from '../support/tmp.js';

let grid: TestGrid | undefined;
let proxy: TcpProxy | undefined;
const cleanups: (() => Promise<void>)[] = [];
beforeAll(() => cipherReady());
afterEach(async () => {
  await proxy?.close();
  await grid?.close();
  proxy = undefined;
  grid = undefined;
  for (const c of cleanups.splice(0)) await c();
});

const MiB = 1024 * 1024;

async function setup(size: number): Promise<{ file: string; plain: Buffer; base: Omit<UploadOptions, 'helperUrl'> }> {
  const t = await tempDir('ferry-flaky-');
  cleanups.push(t.cleanup);
  const file = path.join(t.dir, 'f');
  const plain = randomBytes(size);
  await writeFile(file, plain);
  return { file, plain, base: { token: CLIENT_TOKEN, stateDir: path.join(t.dir, 'state'), maxSegmentSize: MiB, retry: { baseMs: 20, maxMs: 200 }, pollIntervalMs: 50 } };
}

async function readBack(g: TestGrid, cap: string): Promise<Buffer> {
  return reassembleCap({ urls: g.storage.map((s) => s!.url), token: GRID_TOKEN }, cap);
}

describe('client upload over a bad link', () => {
  it('completes with the right cap through a proxy that cuts the connection every 3 MiB', async () => {
    grid = await startGrid();
    proxy = await startProxy(grid.helper.url, { cutEvery: 3 * MiB });
    const { file, plain, base } = await setup(24 * MiB + 999);
    let retries = 0;
    const r = await upload(file, { ...base, helperUrl: proxy.url, chunkSize: 8 * MiB, onRetry: () => retries++ });
    expect(proxy.cuts).toBeGreaterThanOrEqual(7);
    expect(retries).toBeGreaterThanOrEqual(proxy.cuts - 1);
    // What reached the helper: each cut costs at most the segment in flight (plus a little HTTP).
    expect(proxy.bytesUp).toBeLessThanOrEqual(plain.length + proxy.cuts * (MiB + 4096));
    expect((await readBack(grid, r.cap)).equals(plain)).toBe(true);
  });

  it('cuts a stalled PATCH after the stall timeout and finishes on a new connection', async () => {
    grid = await startGrid();
    proxy = await startProxy(grid.helper.url);
    proxy.stallNext(2 * MiB);
    const { file, plain, base } = await setup(8 * MiB);
    const errors: string[] = [];
    const r = await upload(file, { ...base, helperUrl: proxy.url, stallTimeoutMs: 500, onRetry: (e) => errors.push(e.code) });
    expect(proxy.stalls).toBe(1);
    // The client's own stall timeout cut it (not a TCP timeout, not the helper) and it went on elsewhere.
    expect(errors).toContain('TIMEOUT');
    expect(proxy.connections).toBeGreaterThanOrEqual(2);
    expect((await readBack(grid, r.cap)).equals(plain)).toBe(true);
  });
});
