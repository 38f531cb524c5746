import { describe, expect, it } from 'vitest';
import { ServerProber, STALE_SERVER_ERROR_MS } from '../../../helper/admin/probe.js';
import { ThroughputTracker } from '../../../helper/admin/throughput.js';
import type { GridDirectory, ServerHealth } from '../../../helper/grid/directory.js';
import { silentLogger } from '../../../runtime/log.js';
import { TicketStore } from '../../../helper/admin/tickets.js';
import { findPackageRoot, pageDir } from '../../../helper/admin/package-root.js';
import { existsSync } from 'node:fs';
import path from 'node:path';

describe('throughput over the last minute', () => {
  it('averages per-second counts over the window and forgets what is older', () => {
    let now = 1_000_000;
    const t = new ThroughputTracker(60, () => now);
    now += 60_000; // a full window since start
    t.add('received', 6000);
    t.add('pushed', 600);
    t.add('encoded', -5); // shrinking counts (a new attempt) are ignored
    expect(t.rates()).toEqual({ received: 100, encoded: 0, pushed: 10, windowSeconds: 60 });
    now += 30_000;
    t.add('received', 6000);
    expect(t.rates().received).toBe(200);
    now += 31_000; // the first burst is now older than a minute
    expect(t.rates().received).toBe(100);
    now += 60_000;
    expect(t.rates()).toEqual({ received: 0, encoded: 0, pushed: 0, windowSeconds: 60 });
    expect(t.total('received')).toBe(12_000);
  });

  it('divides by the time since start while that is shorter than the window', () => {
    let now = 5_000;
    const t = new ThroughputTracker(60, () => now);
    now += 10_000;
    t.add('encoded', 1000);
    expect(t.rates().encoded).toBe(100);
  });

  it('does not count a slot left over from the previous lap of the ring', () => {
    let now = 0;
    const t = new ThroughputTracker(60, () => now);
    now = 120_000;
    t.add('received', 60);
    now = 180_000; // same slot, one lap later
    t.add('received', 120);
    expect(t.rates().received).toBe(2);
  });
});

describe('the current rate', () => {
  it('shows a burst at its own speed, not spread over the minute since start', () => {
    let now = 1_000_000;
    const t = new ThroughputTracker(60, () => now);
    now += 50_000; // the helper has been up for a while
    for (let i = 0; i < 3; i++) {
      t.add('received', 60 * 2 ** 20); // 60 MiB in each of three seconds
      now += 1000;
    }
    expect(t.current().received).toBe(60 * 2 ** 20);
    expect(t.rates().received).toBeLessThan(4 * 2 ** 20); // the minute average: what the tile showed before
    now += 5000; // quiet for the whole recent window
    expect(t.current()).toEqual({ received: 0, encoded: 0, pushed: 0, windowSeconds: 5 });
  });
});

describe('server errors', () => {
  it("age out: a recovered server's error older than the named interval is no longer current", async () => {
    let now = 1_000_000;
    let health: ServerHealth = { url: 'https://s1', reachable: false, lastError: 'connect ECONNREFUSED', checkedAt: now };
    const grid = { health: () => [health], probe: async () => undefined } as unknown as GridDirectory;
    const prober = new ServerProber(grid, { perServer: new Map() }, 0, silentLogger(), STALE_SERVER_ERROR_MS, () => now);
    expect(prober.servers()[0]).toMatchObject({ lastError: 'connect ECONNREFUSED', lastErrorAt: 1_000_000, previousError: null });
    health = { url: 'https://s1', reachable: true, checkedAt: now + 1000 };
    now += STALE_SERVER_ERROR_MS - 1;
    expect(prober.servers()[0]).toMatchObject({ reachable: true, lastError: 'connect ECONNREFUSED' });
    now += 1;
    expect(prober.servers()[0]).toMatchObject({ reachable: true, lastError: null, lastErrorAt: null, previousError: { message: 'connect ECONNREFUSED', at: 1_000_000 } });
  });
});

describe('event-stream tickets', () => {
  it('work once and only within their lifetime', () => {
    let now = 0;
    const tickets = new TicketStore(60_000, () => now);
    const a = tickets.issue();
    expect(a.expiresAt).toBe(60_000);
    expect(tickets.redeem(a.ticket)).toBe(true);
    expect(tickets.redeem(a.ticket)).toBe(false);
    const b = tickets.issue();
    now = 60_001;
    expect(tickets.redeem(b.ticket)).toBe(false);
    expect(tickets.redeem(undefined)).toBe(false);
    expect(tickets.redeem(['x'])).toBe(false);
    expect(tickets.redeem('')).toBe(false);
    const c = tickets.issue();
    const d = tickets.issue();
    expect(c.ticket).not.toBe(d.ticket);
  });
});

describe('page files', () => {
  it('are found from the source tree', () => {
    const root = findPackageRoot();
    expect(existsSync(path.join(root, 'package.json'))).toBe(true);
    expect(existsSync(path.join(pageDir(), 'index.html'))).toBe(true);
    expect(existsSync(path.join(pageDir(), 'app.js'))).toBe(true);
  });
});
