/**
 * Leases end to end, on real storage servers whose clock the test moves: the
 * helper's push leaves a lease on every holder; a client that uploads the
 * file again and hears have-it, or a repair, renews them; once a lease has
 * run out, the servers' sweep deletes the shares and check and repair say
 * so, while the renewed file is kept.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startHelper } from '../../helper/start.js';
import { afterEach, describe, expect, it } from 'vitest';
import { putFile, type StoredFile } from '../support/gateway-fixture.js';
import { startGrid, type TestGrid } from '../support/grid.js';
import { HelperCalls } from '../support/helper-client.js';
import { checkBody } from '../support/prepare.js';
import { readBack, RepairCalls } from '../support/repair.js';

const DAY = 24 * 3600_000;
const LEASE = 10 * DAY;

let grid: TestGrid | undefined;
afterEach(async () => {
  await grid?.close();
  grid = undefined;
});

/** A grid whose storage servers read the time from `clock.now` and give 10-day leases. */
async function gridWithClock(): Promise<{ grid: TestGrid; clock: { now: number } }> {
  const clock = { now: Date.now() };
  grid = await startGrid({ storage: { clock: () => clock.now, defaultLeaseMs: LEASE } });
  return { grid, clock };
}

/** The lease expiry (ms) each server records for `si`, for the servers holding shares of it. */
async function leases(g: TestGrid, stored: StoredFile): Promise<number[]> {
  const holders = new Set(Object.values(stored.shareMap).flat());
  const out: number[] = [];
  for (let i = 0; i < g.storage.length; i++) {
    if (!holders.has(g.storage[i]!.serverId)) continue;
    const file = path.join(g.dir, `storage-${i}`, 'leases', stored.f.si.slice(0, 2), `${stored.f.si}.json`);
    out.push((JSON.parse(await readFile(file, 'utf8')) as { expiresAt: number }).expiresAt);
  }
  return out;
}

async function sweepAll(g: TestGrid): Promise<void> {
  for (const s of g.storage) await s!.sweep();
}

describe('leases', () => {
  it('the push sets a lease on every server it stored a share on', async () => {
    const { grid: g, clock } = await gridWithClock();
    const stored = await putFile(g, randomBytes(100_000));
    const expiries = await leases(g, stored);
    expect(expiries.length).toBeGreaterThanOrEqual(7);
    for (const e of expiries) expect(e).toBe(clock.now + LEASE);
  });

  it('an upload answered have-it renews the leases: the file outlives its first lease, one not uploaded again does not', async () => {
    const { grid: g, clock } = await gridWithClock();
    const kept = await putFile(g, randomBytes(100_000));
    const dropped = await putFile(g, randomBytes(100_000));
    clock.now += 6 * DAY;
    const again = await new HelperCalls(g.helper.url).check(checkBody(kept.f));
    expect(again.json.status).toBe('have-it');
    for (const e of await leases(g, kept)) expect(e).toBe(clock.now + LEASE);

    clock.now += 5 * DAY; // past the first lease, inside the renewed one
    await sweepAll(g);
    expect((await readBack(g, kept)).equals(kept.plain)).toBe(true);
    const calls = new RepairCalls(g.helper.url);
    const gone = await calls.checkFile({ cap: dropped.cap });
    expect(gone.json).toMatchObject({ goodShares: 0, recoverable: false, healthy: false });
  });

  it('a helper that never saw the file answers have-it from the grid and renews the leases too', async () => {
    const { grid: g, clock } = await gridWithClock();
    const stored = await putFile(g, randomBytes(100_000));
    const other = await startHelper({ ...g.config, dataDir: path.join(g.dir, 'other-helper'), port: 0, adminToken: undefined });
    try {
      clock.now += 6 * DAY;
      const again = await new HelperCalls(other.url).check(checkBody(stored.f));
      expect(again.json.status).toBe('have-it');
      for (const e of await leases(g, stored)) expect(e).toBe(clock.now + LEASE);
    } finally {
      await other.close();
    }
  });

  it('a repair renews the leases of a healthy file; after expiry check says unrecoverable and repair fails', async () => {
    const { grid: g, clock } = await gridWithClock();
    const kept = await putFile(g, randomBytes(100_000));
    const dropped = await putFile(g, randomBytes(100_000));
    clock.now += 6 * DAY;
    const calls = new RepairCalls(g.helper.url);
    expect((await calls.repair({ cap: kept.cap })).status).toBe(202);
    expect(await calls.waitFor(kept.f.si)).toMatchObject({ state: 'done' });
    for (const e of await leases(g, kept)) expect(e).toBe(clock.now + LEASE);

    clock.now += 5 * DAY;
    await sweepAll(g);
    const check = await calls.checkFile({ cap: kept.cap, verify: true });
    expect(check.json).toMatchObject({ healthy: true, goodShares: 10 });
    const gone = await calls.checkFile({ cap: dropped.cap, verify: true });
    expect(gone.json).toMatchObject({ goodShares: 0, recoverable: false });
    expect((await calls.repair({ cap: dropped.cap })).status).toBe(202);
    const failed = await calls.waitFor(dropped.f.si);
    expect(failed.state).toBe('failed');
    expect(String(failed.lastError)).toMatch(/share/i);
  });
});
