import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { EncodeFn } from '../../helper/encode/encode-push.js';
import { ErasureCodec } from '../../core/erasure/index.js';
import { GRID_TOKEN, startGrid, type TestGrid } from '../support/grid.js';
import { HelperCalls } from '../support/helper-client.js';
import { checkBody, prepare } from '../support/prepare.js';
import { reassemble } from '../support/reassemble.js';

let grid: TestGrid | undefined;
afterEach(async () => {
  await grid?.close();
  grid = undefined;
});

/** In-thread codec with a hook before each segment, to act at a chosen moment of a push. */
function hookedEncode(before: (segment: number) => Promise<void>): EncodeFn {
  let segment = 0;
  return async (k, n, blocks) => {
    await before(segment++);
    return new ErasureCodec(k, n).encode(blocks.map((b) => new Uint8Array(b)));
  };
}

const urls = (g: TestGrid) => g.storage.filter((s) => s !== undefined).map((s) => s!.url);

describe('helper under faults', () => {
  it('re-places the shares of a storage server that dies mid-push and still succeeds', async () => {
    const hooks: { stop?: () => Promise<void> } = {};
    grid = await startGrid({
      servers: 11,
      encode: hookedEncode(async (segment) => {
        if (segment === 3) void hooks.stop?.(); // dies while the push goes on
      }),
    });
    const g = grid;
    const deadId = g.storage[0]!.serverId;
    hooks.stop = () => g.stopStorage(0); // the first server in preference order always gets a share
    const h = new HelperCalls(g.helper.url);
    const plain = randomBytes(8 * 64 * 1024);
    const f = await prepare(plain);
    await h.upload(f);
    const job = await h.waitFor(f.si);
    expect(job.state).toBe('done');
    const result = job.result as { shareMap: Record<string, string[]>; happiness: number; uebHash: string };
    expect(result.happiness).toBe(10);
    expect(g.storage[0]).toBeUndefined();
    expect(Object.keys(result.shareMap)).toHaveLength(10);
    expect(Object.values(result.shareMap).flat()).not.toContain(deadId);
    const back = await reassemble({ urls: urls(g), token: GRID_TOKEN, si: f.si, key: f.key, uebHash: Buffer.from(result.uebHash, 'hex') });
    expect(back.equals(plain)).toBe(true);
  });

  it('fails clearly, never falsely succeeds, when too few servers are up', async () => {
    grid = await startGrid({ servers: 10 });
    for (let i = 5; i < 10; i++) await grid.stopStorage(i); // down, not gone: the job may heal when they return
    const h = new HelperCalls(grid.helper.url);
    const f = await prepare(randomBytes(100_000));
    await h.upload(f);
    const job = await h.waitFor(f.si, ['failed', 'done']);
    expect(job.state).toBe('failed');
    expect(job.result).toBeUndefined();
    expect(String(job.lastError)).toMatch(/happiness 5 < happy 7/);
    expect(String(job.lastError)).toMatch(/placed 10 of 10 shares on 5 servers/);
    expect(String(job.lastError)).toMatch(/5 of 10 servers reachable/);
    expect(job.permanent).toBeUndefined();
    // It is retried with backoff: attempts keep growing while it stays failed.
    for (const deadline = Date.now() + 10_000; Number((await h.job(f.si)).json.attempts) <= 1; ) {
      if (Date.now() > deadline) throw new Error('the failed job was never retried');
      await new Promise((r) => setTimeout(r, 25));
    }
    expect((await h.job(f.si)).json.state).toBe('failed');
    // The spool is kept for the retry.
    expect(existsSync(`${grid.config.dataDir}/encoding/${f.si}.ct`)).toBe(true);
  });

  it('finishes a job after the helper restarts mid-encode', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    grid = await startGrid({
      encode: hookedEncode(async (segment) => {
        if (segment === 2) await gate; // hold the first helper mid-job
      }),
    });
    const h1 = new HelperCalls(grid.helper.url);
    const plain = randomBytes(6 * 64 * 1024 + 3);
    const f = await prepare(plain);
    await h1.upload(f);
    await h1.waitFor(f.si, ['encoding']);
    const closing = grid.helper.close();
    release();
    await closing;
    const restarted = await grid.startHelper(hookedEncode(async () => undefined));
    const h2 = new HelperCalls(restarted.url);
    const job = await h2.waitFor(f.si);
    expect(job.state).toBe('done');
    const result = job.result as { uebHash: string; pushed: number[] };
    const back = await reassemble({ urls: urls(grid), token: GRID_TOKEN, si: f.si, key: f.key, uebHash: Buffer.from(result.uebHash, 'hex') });
    expect(back.equals(plain)).toBe(true);
    expect(existsSync(`${grid.config.dataDir}/encoding/${f.si}.ct`)).toBe(false);
  });

  it('refuses new uploads beyond the holding quota with 507, and sweeps idle spools', async () => {
    grid = await startGrid({ helper: { limits: { holdingQuota: 300_000, spoolIdle: 1 } } });
    const h = new HelperCalls(grid.helper.url);
    const a = await prepare(randomBytes(200_000));
    const b = await prepare(randomBytes(200_000));
    expect((await h.check(checkBody(a))).json.status).toBe('send');
    const refused = await h.check(checkBody(b));
    expect(refused.status).toBe(507);
    expect(refused.json).toMatchObject({ error: 'QUOTA_EXCEEDED' });
    expect(String(refused.json.message)).toMatch(/200000 of 300000 bytes reserved/);
    // a's spool goes idle; the sweep deletes it and frees the quota.
    await h.patch(a.si, 0, a.ciphertext.subarray(0, 3 * a.geometry.segmentSize));
    await new Promise((r) => setTimeout(r, 20));
    const report = await grid.helper.helper.sweeper.sweep();
    expect(report.expiredSpools).toEqual([a.si]);
    expect(existsSync(`${grid.config.dataDir}/incoming/${a.si}.ct`)).toBe(false);
    expect((await h.job(a.si)).json.state).toBe('cancelled');
    expect((await h.check(checkBody(b))).json.status).toBe('send');
    // A fresh check of the swept file starts over from zero.
    const again = await h.check(checkBody(a));
    expect(again.status).toBe(507); // b now holds the quota
  });
});
