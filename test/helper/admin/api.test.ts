import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHelperConfig } from '../../../helper/config.js';
import { clientIdOf } from '../../../helper/http/client-auth.js';
import { CLIENT_TOKEN } from '../../support/grid.js';
import { HelperCalls } from '../../support/helper-client.js';
import { checkBody, prepare, type PreparedFile } from '../../support/prepare.js';
import { ADMIN_TOKEN, readEvents, startAdminGrid } from '../../support/admin.js';

type Grid = Awaited<ReturnType<typeof startAdminGrid>>;
const API = '/admin/api/v1';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

let grid: Grid;
let h: HelperCalls;
/** A file uploaded and pushed before the tests (happy 3 on 4 servers). */
let done: PreparedFile;

beforeAll(async () => {
  grid = await startAdminGrid({ servers: 4, helper: { limits: { retryBase: '1h', retryMax: '1h' } } });
  h = new HelperCalls(grid.helper.url);
  done = await prepare(randomBytes(4 * 64 * 1024 + 5));
  await h.upload(done, 3);
  expect((await h.waitFor(done.si)).state).toBe('done');
});
const ownGrids: Grid[] = [];
afterAll(async () => {
  for (const g of ownGrids) await g.close();
  await grid?.close();
});

const api = () => request(grid.adminUrl);

/**
 * A grid of the test's own, for tests that stop servers or count jobs and shares:
 * they must not depend on what other tests did to the shared one. `uploaded`: one file pushed first.
 */
async function ownGrid(servers = 4, uploaded = true): Promise<{ g: Grid; calls: HelperCalls; file?: PreparedFile; admin: () => ReturnType<typeof request> }> {
  const g = await startAdminGrid({ servers, helper: { limits: { retryBase: '1h', retryMax: '1h' } } });
  ownGrids.push(g);
  const calls = new HelperCalls(g.helper.url);
  let file: PreparedFile | undefined;
  if (uploaded) {
    file = await prepare(randomBytes(4 * 64 * 1024 + 5));
    await calls.upload(file, 3);
    expect((await calls.waitFor(file.si)).state).toBe('done');
  }
  return { g, calls, file, admin: () => request(g.adminUrl) };
}

describe('admin API: authentication and the separate listener', () => {
  const routes: [string, string][] = [
    ['get', '/overview'],
    ['get', '/jobs'],
    ['get', `/jobs/${'a'.repeat(26)}`],
    ['post', `/jobs/${'a'.repeat(26)}/retry`],
    ['post', `/jobs/${'a'.repeat(26)}/cancel`],
    ['get', '/servers'],
    ['post', '/servers/probe'],
    ['get', '/spools'],
    ['post', '/sweep'],
    ['get', '/intake'],
    ['post', '/intake/pause'],
    ['post', '/intake/resume'],
    ['post', '/ticket'],
    ['get', '/no-such-route'],
  ];

  it('refuses every route without the admin token, with a wrong one and with a client token (401)', async () => {
    for (const [method, path] of routes) {
      for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: `Bearer ${CLIENT_TOKEN}` }]) {
        const res = await (api() as unknown as Record<string, (p: string) => request.Test>)[method](`${API}${path}`).set(headers);
        expect(res.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.body.error).toBe('UNAUTHORIZED');
        expect(res.headers['www-authenticate']).toBe('Bearer realm="ferry-admin"');
      }
    }
    expect(grid.helper.helper.actions.intakePaused).toBe(false); // the refused pause did nothing
    expect((await api().get('/metrics')).status).toBe(401);
    expect((await api().get('/metrics').set({ authorization: `Bearer ${CLIENT_TOKEN}` })).status).toBe(401);
  });

  it('does not take the token from a cookie or the query string', async () => {
    expect((await api().get(`${API}/overview`).set('cookie', `token=${ADMIN_TOKEN}`)).status).toBe(401);
    expect((await api().get(`${API}/overview?token=${ADMIN_TOKEN}`)).status).toBe(401);
    expect((await api().get(`${API}/events?ticket=${ADMIN_TOKEN}`)).status).toBe(401);
  });

  it('serves the admin routes only on the admin listener, and the client routes refuse the admin token', async () => {
    expect(grid.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(grid.adminUrl).not.toBe(grid.helper.url);
    for (const p of [`${API}/overview`, '/metrics']) {
      const res = await request(grid.helper.url).get(p).set(admin);
      expect(res.status, p).toBe(404);
      expect(res.body.error).toBe('NOT_FOUND');
    }
    expect((await request(grid.helper.url).get('/helper/v1/info').set(admin)).status).toBe(401);
    expect((await api().get('/helper/v1/info').set({ authorization: `Bearer ${CLIENT_TOKEN}` })).status).toBe(404);
  });

  it('binds to loopback by default and refuses an admin token that is also a client token', () => {
    const c = parseHelperConfig({ dataDir: '/tmp/x', clientTokens: [CLIENT_TOKEN], adminToken: ADMIN_TOKEN });
    expect(c.admin).toMatchObject({ host: '127.0.0.1', port: 3457, metricsPublic: false, probeInterval: 30_000 });
    expect(() => parseHelperConfig({ dataDir: '/tmp/x', clientTokens: [CLIENT_TOKEN, ADMIN_TOKEN], adminToken: ADMIN_TOKEN })).toThrow(/must differ/);
  });

  it('serves the page shell without data, with a strict content security policy', async () => {
    const page = await api().get('/admin/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.text).toContain('<script src="app.js" defer></script>');
    expect(page.text).not.toContain(done.si);
    const js = await api().get('/admin/app.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    expect(js.text).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    expect((await api().get('/admin/style.css')).status).toBe(200);
    expect((await api().get('/admin')).headers.location).toBe('/admin/');
    expect((await api().get('/')).headers.location).toBe('/admin/');
    expect((await api().get('/admin/../package.json')).status).toBe(404);
    const escaped = await api().get('/admin/%2e%2e/%2e%2e/package.json');
    expect(escaped.status).toBe(404);
    expect(escaped.body.error).toBe('NOT_FOUND');
  });
});

describe('admin API: overview, jobs, servers, spools', () => {
  it('gives an overview: version, uptime, jobs by state, holding bytes, throughput', async () => {
    const own = await ownGrid();
    // A finished job leaves the queue just after it shows done: wait (with a deadline) for the idle queue.
    let res = await own.admin().get(`${API}/overview`).set(admin);
    for (const deadline = Date.now() + 10_000; res.body.queue?.running !== 0 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 25));
      res = await own.admin().get(`${API}/overview`).set(admin);
    }
    expect(res.status).toBe(200);
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(res.body.version).toBe(pkg.version);
    expect(res.body.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(res.body.intakePaused).toBe(false);
    expect(res.body.jobs.done).toBeGreaterThanOrEqual(1);
    expect(res.body.jobs).toHaveProperty('receiving');
    expect(res.body.holding).toMatchObject({ incoming: expect.any(Number), encoding: expect.any(Number), total: expect.any(Number) });
    expect(res.body.throughput.windowSeconds).toBe(60);
    expect(res.body.throughput.received).toBeGreaterThan(0);
    expect(res.body.throughput.encoded).toBeGreaterThan(0);
    expect(res.body.throughput.pushed).toBeGreaterThan(0);
    expect(res.body.servers).toEqual({ configured: 4, reachable: 4 });
    expect(res.body.stats.uploadRequests).toBeGreaterThanOrEqual(1);
    expect(res.body.queue).toEqual({ running: 0, waiting: 0 });
  });

  it('shows one job: stage, progress by server, share map, attempts, errors, timings', async () => {
    const res = await api().get(`${API}/jobs/${done.si}`).set(admin);
    expect(res.status).toBe(200);
    const j = res.body;
    expect(j).toMatchObject({ storageIndex: done.si, kind: 'upload', state: 'done', stage: 'done', attempts: 1, errors: [] });
    expect(j.progress).toMatchObject({ size: done.geometry.size, received: done.geometry.size, segmentsEncoded: done.geometry.numSegments, numSegments: done.geometry.numSegments, encodedBytes: done.geometry.size });
    expect(j.progress.pushedBytes).toBe(j.progress.pushTotal);
    expect(Object.keys(j.shareMap)).toHaveLength(10);
    expect(j.pushedByServer).toHaveLength(4);
    for (const s of j.pushedByServer) expect(s.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/#spki=/);
    expect(j.result.happiness).toBe(4);
    expect(j.result.ueb).toBeUndefined();
    expect(j.timings.encodeMs).toBeGreaterThanOrEqual(0);
    expect(j.timings.finishedAt).toBeGreaterThanOrEqual(j.timings.createdAt);
    // Which client token sent it: the token's id, never the token.
    expect(j.owner).toBe(clientIdOf(CLIENT_TOKEN));
    expect(JSON.stringify(j)).not.toContain(CLIENT_TOKEN);
    const listed = (await api().get(`${API}/jobs`).set(admin)).body.jobs.find((x: { storageIndex: string }) => x.storageIndex === done.si);
    expect(listed.owner).toBe(clientIdOf(CLIENT_TOKEN));
    expect((await api().get(`${API}/jobs/${(await prepare(randomBytes(10))).si}`).set(admin)).status).toBe(404);
    const bad = await api().get(`${API}/jobs/..%2f..%2fetc`).set(admin);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('INVALID_STORAGE_INDEX');
  });

  it('lists storage servers with reachability, latency, free space and shares pushed', async () => {
    const own = await ownGrid();
    const pushed = (r: { body: { servers?: { sharesPushed: number }[] } }) => (r.body.servers ?? []).reduce((a, s) => a + s.sharesPushed, 0);
    let res = await own.admin().get(`${API}/servers`).set(admin);
    for (const deadline = Date.now() + 10_000; pushed(res) !== 10 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 25));
      res = await own.admin().get(`${API}/servers`).set(admin);
    }
    expect(res.status).toBe(200);
    expect(res.body.servers).toHaveLength(4);
    for (const s of res.body.servers) {
      expect(s).toMatchObject({ reachable: true, lastError: null });
      expect(s.id).toMatch(/^[a-z2-7]+$/);
      expect(s.latencyMs).toBeGreaterThanOrEqual(0);
      expect(s.availableSpace).toBeGreaterThan(0);
    }
    const shares = res.body.servers.reduce((a: number, s: { sharesPushed: number }) => a + s.sharesPushed, 0);
    expect(shares).toBe(10);
  });

  it('probes servers now and remembers the last error of one that went away', async () => {
    const own = await ownGrid(4, false);
    await own.g.stopStorage(3);
    const res = await own.admin().post(`${API}/servers/probe`).set(admin);
    expect(res.status).toBe(200);
    const gone = res.body.servers[3];
    expect(gone.reachable).toBe(false);
    expect(gone.lastError).toEqual(expect.any(String));
    expect(gone.lastErrorAt).toBeGreaterThan(0);
    expect((await own.admin().get(`${API}/overview`).set(admin)).body.servers).toEqual({ configured: 4, reachable: 3 });
  });

  it('pages through jobs newest first, filtered by state', async () => {
    const own = await ownGrid();
    const files = await Promise.all([1, 2, 3, 4, 5].map((i) => prepare(randomBytes(1000 + i))));
    for (const f of files) expect((await own.calls.check(checkBody(f, 3))).json.status).toBe('send');
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 5; page++) {
      const res = await own.admin()
        .get(`${API}/jobs`)
        .query({ state: 'receiving', limit: 2, ...(cursor ? { cursor } : {}) })
        .set(admin);
      expect(res.status).toBe(200);
      expect(res.body.total).toBe(5);
      for (const j of res.body.jobs) {
        expect(j.state).toBe('receiving');
        seen.push(j.storageIndex);
      }
      cursor = res.body.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toHaveLength(5);
    expect(new Set(seen)).toEqual(new Set(files.map((f) => f.si)));
    const all = await own.admin().get(`${API}/jobs`).query({ state: 'active,done' }).set(admin);
    expect(all.body.total).toBe(6);
    const created = all.body.jobs.map((j: { createdAt: number }) => j.createdAt);
    expect(created).toEqual([...created].sort((a, b) => b - a));
    expect(all.body.nextCursor).toBeUndefined();
    expect((await own.admin().get(`${API}/jobs`).query({ state: 'done' }).set(admin)).body.jobs.map((j: { storageIndex: string }) => j.storageIndex)).toEqual([own.file!.si]);
  });

  it.each([
    ['an unknown state', { state: 'sleeping' }],
    ['a limit of 0', { limit: 0 }],
    ['a limit above 500', { limit: 501 }],
    ['a limit that is no number', { limit: 'ten' }],
    ['a forged cursor', { cursor: 'bm90IGEgY3Vyc29y' }],
    ['an unknown parameter', { sort: 'size' }],
  ])('refuses a job list with %s (400)', async (_what, query) => {
    const res = await api().get(`${API}/jobs`).query(query).set(admin);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('BAD_REQUEST');
  });

  it('lists partial spools with size and age', async () => {
    const f = await prepare(randomBytes(4 * 64 * 1024));
    await h.check(checkBody(f, 3));
    const seg = f.geometry.segmentSize;
    expect((await h.patch(f.si, 0, f.ciphertext.subarray(0, 2 * seg))).status).toBe(204);
    const res = await api().get(`${API}/spools`).set(admin);
    expect(res.status).toBe(200);
    const s = res.body.spools.find((x: { storageIndex: string }) => x.storageIndex === f.si);
    expect(s).toMatchObject({ dir: 'incoming', state: 'receiving', received: 2 * seg, size: 4 * 64 * 1024 });
    expect(s.bytes).toBeGreaterThan(0);
    expect(s.ageMs).toBeGreaterThanOrEqual(0);
    expect(s.idleMs).toBeGreaterThanOrEqual(0);
    expect(s.expiresAt).toBeGreaterThan(Date.now());
    expect(res.body.incoming).toBeGreaterThan(0);
  });
});

describe('admin API: actions', () => {
  it('cancels a receiving job and deletes its spool', async () => {
    const f = await prepare(randomBytes(3 * 64 * 1024));
    await h.check(checkBody(f, 3));
    await h.patch(f.si, 0, f.ciphertext.subarray(0, 64 * 1024));
    expect(existsSync(`${grid.config.dataDir}/incoming/${f.si}.ct`)).toBe(true);
    const res = await api().post(`${API}/jobs/${f.si}/cancel`).set(admin);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ state: 'cancelled', lastError: 'cancelled by an operator' });
    expect(existsSync(`${grid.config.dataDir}/incoming/${f.si}.ct`)).toBe(false);
    expect((await h.head(f.si)).status).toBe(404);
    expect((await h.patch(f.si, 64 * 1024, f.ciphertext.subarray(64 * 1024))).status).toBe(404);
    const again = await api().post(`${API}/jobs/${f.si}/cancel`).set(admin);
    expect(again.status).toBe(409);
    expect(again.body.error).toBe('CONFLICT');
    expect((await api().post(`${API}/jobs/${done.si}/cancel`).set(admin)).status).toBe(409);
    expect((await api().post(`${API}/jobs/${(await prepare(randomBytes(11))).si}/cancel`).set(admin)).status).toBe(404);
    // A new check starts the file over.
    const fresh = await h.check(checkBody(f, 3));
    expect(fresh.json).toMatchObject({ status: 'send', offset: 0 });
  });

  it('retries a failed job at once, keeping its error history', async () => {
    const own = await ownGrid(4);
    const done = own.file!;
    const h = own.calls;
    const api = own.admin;
    await own.g.stopStorage(3); // down, not gone: a failure that may heal, so it is retried
    const f = await prepare(randomBytes(100_000));
    await h.upload(f, 4); // happy 4, but only 3 servers up
    const failed = await h.waitFor(f.si, ['failed', 'done']);
    expect(failed.state).toBe('failed');
    expect(failed.nextAttemptAt).toBeGreaterThan(Date.now() + 30 * 60_000); // backoff 1 h: only the operator brings it back soon
    expect((await api().post(`${API}/jobs/${done.si}/retry`).set(admin)).status).toBe(409);
    const res = await api().post(`${API}/jobs/${f.si}/retry`).set(admin);
    expect(res.status).toBe(200);
    expect(['queued', 'encoding', 'failed']).toContain(res.body.state);
    const attempts = Number(failed.attempts) + 1;
    for (let i = 0; i < 400; i++) {
      const j = (await h.job(f.si)).json;
      if (j.state === 'failed' && j.attempts === attempts) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const detail = (await api().get(`${API}/jobs/${f.si}`).set(admin)).body;
    expect(detail.state).toBe('failed');
    expect(detail.attempts).toBe(attempts);
    expect(detail.errors.length).toBeGreaterThanOrEqual(2);
    expect(detail.errors.at(-1).message).toMatch(/happiness 3 < happy 4/);
    expect(detail.errors.at(-1).attempt).toBe(attempts);
    // Cancelling a failed job stops its retries and deletes the spool.
    expect((await api().post(`${API}/jobs/${f.si}/cancel`).set(admin)).body.state).toBe('cancelled');
    expect(existsSync(`${own.g.config.dataDir}/encoding/${f.si}.ct`)).toBe(false);
  });

  it('pauses intake: new uploads get 503 with Retry-After, uploads under way go on; resume opens it again', async () => {
    const going = await prepare(randomBytes(2 * 64 * 1024));
    expect((await h.check(checkBody(going, 3))).json.status).toBe('send');
    const paused = await api().post(`${API}/intake/pause`).set(admin);
    expect(paused.body).toEqual({ intakePaused: true });
    expect((await api().get(`${API}/intake`).set(admin)).body).toEqual({ intakePaused: true });

    const fresh = await prepare(randomBytes(5000));
    const refused = await request(grid.helper.url).post('/helper/v1/check').set({ authorization: `Bearer ${CLIENT_TOKEN}` }).send(checkBody(fresh, 3));
    expect(refused.status).toBe(503);
    expect(refused.body.error).toBe('INTAKE_PAUSED');
    expect(refused.headers['retry-after']).toBe('30');
    const tusPost = await request(grid.helper.url)
      .post('/helper/v1/uploads')
      .set({ authorization: `Bearer ${CLIENT_TOKEN}`, 'tus-resumable': '1.0.0', 'upload-length': '5000', 'upload-metadata': `storageIndex ${Buffer.from(fresh.si).toString('base64')}` });
    expect(tusPost.status).toBe(503);
    expect(tusPost.headers['retry-after']).toBe('30');
    expect(JSON.parse(tusPost.text)).toMatchObject({ error: 'INTAKE_PAUSED' });

    // The upload that had started is resumed and finishes while intake is paused.
    expect((await h.check(checkBody(going, 3))).json.status).toBe('send');
    expect((await h.patch(going.si, 0, going.ciphertext)).status).toBe(204);
    expect((await h.waitFor(going.si, ['done', 'failed'])).state).toBe('done');

    expect((await api().post(`${API}/intake/resume`).set(admin)).body).toEqual({ intakePaused: false });
    expect((await h.check(checkBody(fresh, 3))).json.status).toBe('send');
  });

  it('runs the sweep now and reports it', async () => {
    const hh = grid.helper.helper;
    const f = await prepare(randomBytes(2 * 64 * 1024));
    await h.check(checkBody(f, 3));
    // Make every receiving spool count as idle for this one sweep.
    const limits = hh.config.limits as { spoolIdle: number };
    const idle = limits.spoolIdle;
    limits.spoolIdle = 1;
    await new Promise((r) => setTimeout(r, 20));
    try {
      const res = await api().post(`${API}/sweep`).set(admin);
      expect(res.status).toBe(200);
      expect(res.body.expiredSpools).toContain(f.si);
      expect(res.body.freedBytes).toBeGreaterThanOrEqual(0);
    } finally {
      limits.spoolIdle = idle;
    }
    expect(existsSync(`${grid.config.dataDir}/incoming/${f.si}.ct`)).toBe(false);
    expect((await h.job(f.si)).json.state).toBe('cancelled');
    const o = (await api().get(`${API}/overview`).set(admin)).body;
    expect(o.lastSweep.report.expiredSpools).toContain(f.si);
    expect(o.lastSweep.at).toBeGreaterThan(0);
  });
});

describe('admin API: live events', () => {
  it('streams snapshots to a ticket holder; a ticket works once', async () => {
    const t = await api().post(`${API}/ticket`).set(admin);
    expect(t.status).toBe(200);
    expect(t.body.ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(t.body.expiresAt).toBeGreaterThan(Date.now());
    const url = `${grid.adminUrl}${API}/events?ticket=${t.body.ticket}`;
    const first = await readEvents(url, 2);
    expect(first.status).toBe(200);
    expect(first.events.map((e) => e.event)).toEqual(['snapshot', 'snapshot']);
    const snap = first.events[0].data as { overview: { version: string; jobs: { done: number } }; jobs: { storageIndex: string; state: string }[]; servers: unknown[]; recent: { state: string }[] };
    expect(snap.overview.version).toEqual(expect.any(String));
    expect(snap.overview.jobs.done).toBeGreaterThanOrEqual(1);
    expect(snap.servers).toHaveLength(4);
    expect(snap.recent.length).toBeGreaterThan(0);
    expect(snap.recent.length).toBeLessThanOrEqual(10);
    for (const j of snap.recent) expect(['done', 'cancelled']).toContain(j.state);
    for (const j of snap.jobs) expect(['receiving', 'queued', 'encoding', 'pushing', 'failed']).toContain(j.state);
    const reused = await readEvents(url, 1);
    expect(reused.status).toBe(401);
  });
});
