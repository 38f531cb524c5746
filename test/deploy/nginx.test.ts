import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { download } from '../../client/download.js';
import { upload } from '../../client/upload.js';
import { CLIENT_TOKEN, startGrid, type TestGrid } from '../support/grid.js';
import { NGINX, startNginx, type RunningNginx } from '../support/nginx.js';
import { requireDependency, skipWithout } from '../support/required.js';
import { tempDir } from '../support/tmp.js';

/**
 * The reverse proxy of docs/operations.md "Deploying": a real nginx with
 * deploy/nginx/ferry-proxy.conf in front of a helper. A put (several tus
 * PATCHes, a check, job polls) and a get (the gateway) go through it.
 */
describe.skipIf(skipWithout(NGINX !== undefined))('the helper behind nginx (deploy/nginx/ferry-proxy.conf)', () => {
  let grid: TestGrid | undefined;
  let nginx: RunningNginx | undefined;
  let work: { dir: string; cleanup(): Promise<void> } | undefined;

  beforeAll(async () => {
    requireDependency(NGINX !== undefined, 'nginx (Debian package nginx)');
    work = await tempDir('ferry-nginx-');
    grid = await startGrid();
    nginx = await startNginx(path.join(work.dir, 'nginx'), grid.helper.url);
  });

  afterAll(async () => {
    await nginx?.stop();
    await grid?.close();
    await work?.cleanup();
  });

  it('puts a file in several PATCHes and gets it back, byte for byte, through the proxy', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 12345);
    const file = path.join(work!.dir, 'in.bin');
    await writeFile(file, data);
    const progress: number[] = [];
    const put = await upload(file, {
      helperUrl: nginx!.url,
      token: CLIENT_TOKEN,
      stateDir: path.join(work!.dir, 'state'),
      maxSegmentSize: 256 * 1024,
      chunkSize: 2 * 1024 * 1024, // above nginx's default 1 MiB body limit
      pollIntervalMs: 50,
      onProgress: (p) => p.phase === 'uploading' && progress.push(p.bytes),
    });
    expect(put.outcome).toBe('uploaded');
    expect(put.sentBytes).toBe(data.length);
    expect(Math.max(...progress)).toBe(data.length);

    const out = path.join(work!.dir, 'out.bin');
    const got = await download(put.cap, out, { helperUrl: nginx!.url });
    expect(got.bytes).toBe(data.length);
    expect((await readFile(out)).equals(data)).toBe(true);

    // The requests really went through nginx, PATCHes included.
    const access = await readFile(path.join(work!.dir, 'nginx', 'access.log'), 'utf8');
    expect(access).toMatch(/"PATCH \/helper\/v1\/uploads\/\S+ HTTP\/1\.1" 204/);
    expect(access).toMatch(/"GET \/uri\/\S+ HTTP\/1\.1" 200/);
    expect(await nginx!.errors()).not.toMatch(/\[(error|crit|alert|emerg)\]/);
  });

  it('a wrong token gets the helper\'s JSON error through the proxy, not an nginx page', async () => {
    const res = await fetch(`${nginx!.url}/helper/v1/info`, { headers: { authorization: 'Bearer not-the-right-token-at-all' } });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'UNAUTHORIZED' });
  });
});
