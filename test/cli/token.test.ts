import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalGrid } from '../../cli/local-grid.js';
import { StorageClient } from '../../storage/client.js';
import { ensureBuilt, ferry } from '../support/cli.js';
import { tempDir } from '../support/tmp.js';

let work: { dir: string; cleanup(): Promise<void> } | undefined;
beforeAll(async () => {
  await ensureBuilt();
  work = await tempDir('ferry-token-');
}, 300_000);
afterAll(async () => {
  await work?.cleanup();
});

describe('ferry token new', () => {
  it('prints a fresh random token each time', async () => {
    const a = await ferry(['token', 'new'], { cwd: work!.dir });
    const b = await ferry(['token', 'new'], { cwd: work!.dir });
    expect(a.code).toBe(0);
    const [ta, tb] = [a.stdout.toString().trim(), b.stdout.toString().trim()];
    expect(ta).toMatch(/^[a-z2-7]{52}$/i);
    expect(tb).not.toBe(ta);
  });

  it('--file writes a new 0600 file and never replaces one (a grid token in use must not change by accident)', async () => {
    const file = path.join(work!.dir, 'grid-token');
    const r = await ferry(['token', 'new', '--file', file], { cwd: work!.dir });
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('');
    expect(r.stderr.toString()).toContain(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const first = await readFile(file, 'utf8');
    expect(first.trim()).toMatch(/^[a-z2-7]{52}$/i);

    const again = await ferry(['token', 'new', '--file', file], { cwd: work!.dir });
    expect(again.code).toBe(1);
    expect(again.stderr.toString()).toMatch(/exists; a token in use is not replaced/);
    expect(await readFile(file, 'utf8')).toBe(first);
  });
});

describe('the local grid and one grid token file', () => {
  it('every storage server takes the token from tokenFile (as `ferry storage --token-file`), and none is generated', async () => {
    const home = path.join(work!.dir, 'home');
    const tokenFile = path.join(work!.dir, 'shared-grid-token');
    await writeFile(tokenFile, 'a-grid-token-minted-elsewhere-0123456789\n', { mode: 0o600 });
    const grid = await startLocalGrid({ home, port: 0, adminPort: 0, tokenFile });
    try {
      expect(grid.gridTokenFile).toBe(tokenFile);
      expect(existsSync(path.join(home, 'grid-token'))).toBe(false);
      for (const s of grid.storage) {
        // Pinned TLS: the storage client checks the key in the server's address.
        const client = new StorageClient({ url: s.url, token: 'a-grid-token-minted-elsewhere-0123456789' });
        try {
          await expect(client.info()).resolves.toBeTruthy();
        } finally {
          await client.close();
        }
      }
      expect((await grid.helper.helper.grid.probe()).length).toBe(grid.storage.length);
    } finally {
      await grid.close();
    }
  });
});
