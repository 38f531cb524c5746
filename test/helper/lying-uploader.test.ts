/**
 * Shares from a lying uploader: every block matches its share's block tree,
 * every block tree the share tree, every share the UEB and the UEB the cap —
 * but the crypttext tree (and so the UEB's crypttext root) was computed over
 * other ciphertext than the blocks encode. Each structural check passes; only
 * decoding and hashing the ciphertext can tell. The gateway, `ferry get`,
 * a verifying check and repair must all refuse the file (and `ferry get` at
 * once: the gateway's answer is permanent, not a 502 worth retrying). The same shares
 * built honestly go through the same paths as the control.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatReadCap } from '../../core/capability.js';
import { StorageClient } from '../../storage/client.js';
import { cliEnv, ensureBuilt, ferry, stopSpawned } from '../support/cli.js';
import { CLIENT_TOKEN, GRID_TOKEN, startGrid, type TestGrid } from '../support/grid.js';
import { encodeInMemory } from '../support/memory-shares.js';
import { prepare } from '../support/prepare.js';
import { deleteShares, holdings, RepairCalls, type Json } from '../support/repair.js';
import { tempDir } from '../support/tmp.js';

const PARAMS = { k: 3, n: 10, maxSegmentSize: 64 * 1024 };
const SIZE = 150_000; // three segments

let grid: TestGrid;
let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  await ensureBuilt();
  ({ dir, cleanup } = await tempDir('ferry-liar-'));
}, 180_000);
afterEach(async () => {
  await stopSpawned();
  await grid?.close();
});
afterAll(async () => {
  await cleanup?.();
});

/** Stores share s on server s; returns the file's read-cap and verify-cap. */
async function storeShares(lying: boolean): Promise<{ cap: string; verifyCap: string; si: string; plain: Buffer }> {
  const plain = randomBytes(SIZE);
  const f = await prepare(plain, PARAMS);
  const claimed = lying ? randomBytes(SIZE) : undefined;
  const enc = encodeInMemory(f.ciphertext, f.geometry, claimed);
  for (let s = 0; s < PARAMS.n; s++) {
    const client = new StorageClient({ url: grid.storage[s]!.url, token: GRID_TOKEN });
    try {
      await client.allocate(f.si, enc.shares[s].length, [s]);
      const progress = await client.write(f.si, s, 0, enc.shares[s]);
      expect(progress.complete).toBe(true);
    } finally {
      await client.close();
    }
  }
  const cap = formatReadCap({ key: f.key, uebHash: enc.uebHash, k: PARAMS.k, n: PARAMS.n, size: SIZE });
  return { cap, verifyCap: cap, si: f.si, plain };
}

async function gatewayGet(cap: string): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(`${grid.helper.url}/uri/${cap}`);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

describe('shares from a lying uploader', () => {
  it('control: honestly built shares are served, pass a verifying check and `ferry get`', async () => {
    grid = await startGrid();
    const file = await storeShares(false);
    const got = await gatewayGet(file.cap);
    expect(got.status).toBe(200);
    expect(got.body.equals(file.plain)).toBe(true);
    const check = await new RepairCalls(grid.helper.url).checkFile({ cap: file.cap, verify: true });
    expect(check.status).toBe(200);
    expect(check.json).toMatchObject({ healthy: true, verified: 'full', goodShares: 10 });
    expect(check.json.inconsistent).toBeUndefined();
    const dest = path.join(dir, 'honest.bin');
    const r = await ferry(['get', file.cap, '-o', dest, '--helper', grid.helper.url, '--token', CLIENT_TOKEN], { cwd: dir, env: cliEnv(dir) });
    expect(r.code, r.stderr.toString()).toBe(0);
  });

  it('the gateway answers 422 (not a retryable 502) and sends no byte of it', async () => {
    grid = await startGrid();
    const file = await storeShares(true);
    // The quick check sees nothing wrong: the lie is only visible in the decoded ciphertext.
    const quick = await new RepairCalls(grid.helper.url).checkFile({ cap: file.cap });
    expect(quick.json).toMatchObject({ healthy: true, goodShares: 10 });
    const got = await gatewayGet(file.cap);
    expect(got.status).toBe(422);
    expect(JSON.parse(got.body.toString())).toMatchObject({ error: 'INTEGRITY_ERROR' });
    expect(got.body.toString()).toMatch(/inconsistent/);
    const part = await fetch(`${grid.helper.url}/uri/${file.cap}`, { headers: { range: `bytes=${SIZE - 100}-` } });
    expect(part.status).toBe(422);
    await part.arrayBuffer();
  });

  it('`ferry get` fails and leaves no output file', async () => {
    grid = await startGrid();
    const file = await storeShares(true);
    const dest = path.join(dir, 'lie.bin');
    const r = await ferry(['get', file.cap, '-o', dest, '--helper', grid.helper.url, '--token', CLIENT_TOKEN], { cwd: dir, env: cliEnv(dir) });
    expect(r.code).not.toBe(0);
    expect(r.stderr.toString()).toMatch(/inconsistent/);
    expect(existsSync(dest)).toBe(false);
  });

  it('a verifying check reports it inconsistent, not healthy nor recoverable; `ferry check --verify` exits non-zero', async () => {
    grid = await startGrid();
    const file = await storeShares(true);
    const check = await new RepairCalls(grid.helper.url).checkFile({ cap: file.cap, verify: true });
    expect(check.status).toBe(200);
    expect(check.json).toMatchObject({ verified: 'full', goodShares: 10, healthy: false, recoverable: false, corrupt: [] });
    expect(String(check.json.inconsistent)).toMatch(/crypttext/);
    const r = await ferry(['check', file.cap, '--verify', '--helper', grid.helper.url, '--token', CLIENT_TOKEN], { cwd: dir, env: cliEnv(dir) });
    expect(r.code).not.toBe(0);
    expect(r.stdout.toString()).toMatch(/INCONSISTENT/);
  });

  it('repair refuses to regenerate a missing share from it and leaves no partial share', async () => {
    grid = await startGrid();
    const file = await storeShares(true);
    await deleteShares(grid, file.si, [9]);
    const calls = new RepairCalls(grid.helper.url);
    const started = await calls.repair({ cap: file.cap });
    expect(started.status).toBe(202);
    const job: Json = await calls.waitFor(file.si);
    expect(job.state).toBe('failed');
    expect(String(job.lastError)).toMatch(/inconsistent/);
    expect((await holdings(grid, file.si)).has(9)).toBe(false);
  });
});
