/**
 * Repair at the edges: an empty file, k=1, an upload of the same file while
 * a repair runs (it waits for the repair's result) or after one failed (it
 * takes over), and the admin action.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { formatReadCap } from '../../../core/capability.js';
import { putFile, shareFiles } from '../../support/gateway-fixture.js';
import { ADMIN_TOKEN, startAdminGrid } from '../../support/admin.js';
import { startGrid, type TestGrid } from '../../support/grid.js';
import { HelperCalls } from '../../support/helper-client.js';
import { checkBody, prepare } from '../../support/prepare.js';
import { deleteShares, download, holdings, RepairCalls, shareBytes, startRepairHelper } from '../../support/repair.js';

let grid: TestGrid | undefined;
afterEach(async () => {
  await grid?.close();
  grid = undefined;
});

describe('repair edges', () => {
  it('repairs an empty file', async () => {
    grid = await startGrid();
    const stored = await putFile(grid, Buffer.alloc(0));
    const before = await shareBytes(grid, stored.f.si);
    await deleteShares(grid, stored.f.si, [0, 1, 2, 3, 4, 5, 6]);
    const r = new RepairCalls(grid.helper.url);
    await r.repair({ cap: stored.cap });
    const job = await r.waitFor(stored.f.si);
    expect(job.state, String(job.lastError)).toBe('done');
    const after = await shareBytes(grid, stored.f.si);
    for (let s = 0; s < 10; s++) expect(after.get(s)!.equals(before.get(s)!), `share ${s}`).toBe(true);
    expect((await download(grid.helper.url, stored.cap)).length).toBe(0);
  });

  it('repairs a 1-of-2 file (no share hash chain to speak of)', async () => {
    grid = await startGrid({ servers: 3 });
    const h = new HelperCalls(grid.helper.url);
    const plain = randomBytes(100_000);
    const f = await prepare(plain, { k: 1, n: 2, maxSegmentSize: 64 * 1024 });
    await h.upload(f, 2);
    const up = await h.waitFor(f.si);
    expect(up.state).toBe('done');
    const cap = formatReadCap({ key: f.key, uebHash: Buffer.from(String((up.result as { uebHash: string }).uebHash), 'hex'), k: 1, n: 2, size: plain.length });
    const before = await shareBytes(grid, f.si);
    await deleteShares(grid, f.si, [0]);
    const r = new RepairCalls(grid.helper.url);
    expect((await r.checkFile({ cap })).json).toMatchObject({ happy: 2, healthy: false, missing: [0] });
    await r.repair({ cap });
    const job = await r.waitFor(f.si);
    expect(job.state, String(job.lastError)).toBe('done');
    expect((await shareBytes(grid, f.si)).get(0)!.equals(before.get(0)!)).toBe(true);
    expect((await download(grid.helper.url, cap)).equals(plain)).toBe(true);
  });

  it('raises happiness: a share doubled up on one server gets a copy on a server that holds nothing', async () => {
    grid = await startGrid();
    const stored = await putFile(grid, randomBytes(3 * 64 * 1024 + 1));
    const si = stored.f.si;
    const before = await shareBytes(grid, si);
    // Move share 5 onto the server that holds share 0: all 10 shares present, happiness 9.
    const files = await shareFiles(grid, si);
    const from = files.find((f) => f.shnum === 5)!;
    const to = files.find((f) => f.shnum === 0)!;
    await rename(from.file, path.join(path.dirname(to.file), '5'));
    const r = new RepairCalls(grid.helper.url);
    expect((await r.checkFile({ cap: stored.cap, happy: 10 })).json).toMatchObject({ healthy: false, missing: [], happiness: 9 });
    await r.repair({ cap: stored.cap, happy: 10 });
    const job = await r.waitFor(si);
    expect(job.state, String(job.lastError)).toBe('done');
    const result = job.result as { repaired: number[]; happiness: number; shareMap: Record<string, string[]> };
    expect(result.happiness).toBe(10);
    expect(result.repaired).toHaveLength(1);
    const copied = result.repaired[0];
    expect([0, 5]).toContain(copied);
    expect(result.shareMap[String(copied)]).toHaveLength(2);
    expect(result.shareMap[String(copied)]).toContain(grid.storage[from.server]!.serverId);
    const copies = (await shareFiles(grid, si)).filter((f) => f.shnum === copied);
    for (const c of copies) expect((await readFile(c.file)).equals(before.get(copied)!)).toBe(true);
  });

  it('an upload of the same file during a repair waits for it; after a failed repair it takes over', async () => {
    grid = await startGrid();
    const stored = await putFile(grid, randomBytes(5 * 64 * 1024 + 777));
    await deleteShares(grid, stored.f.si, [2, 5]);
    await grid.helper.close();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const helper = await startRepairHelper(grid, { hooks: { beforeSegment: () => gate } });
    const r = new RepairCalls(helper.url);
    const h = new HelperCalls(helper.url);
    await r.repair({ cap: stored.cap });
    await r.waitFor(stored.f.si, ['encoding']);
    // The uploader's maximum segment size (64 KiB) is not the file's effective one (65538): still the same file.
    const during = await h.check(checkBody(stored.f));
    expect(during.status, JSON.stringify(during.json)).toBe(200);
    expect(during.json).toMatchObject({ status: 'in-progress', state: 'encoding' });
    release();
    expect((await r.waitFor(stored.f.si)).state).toBe('done');
    const after = await h.check(checkBody(stored.f));
    expect(after.json).toMatchObject({ status: 'have-it', happiness: 10 });

    // Too few shares: the repair fails; the owner uploads the file again, which replaces the repair.
    await deleteShares(grid, stored.f.si, [0, 1, 2, 3, 4, 5, 6, 7]);
    await r.repair({ cap: stored.cap });
    const failed = await r.waitFor(stored.f.si);
    expect(failed.state).toBe('failed');
    const { answer } = await h.upload(stored.f);
    expect(answer.status).toBe('send');
    const up = await h.waitFor(stored.f.si);
    expect(up.state, String(up.lastError)).toBe('done');
    expect((await holdings(grid, stored.f.si)).size).toBe(10);
    expect((await download(helper.url, stored.cap)).equals(stored.plain)).toBe(true);
  });

  it('admin: POST /jobs/:si/repair repairs a file the helper uploaded; 409 for one it has no capability of', async () => {
    const g = await startAdminGrid({ servers: 4 });
    grid = g;
    const h = new HelperCalls(g.helper.url);
    const f = await prepare(randomBytes(3 * 64 * 1024));
    await h.upload(f, 3);
    expect((await h.waitFor(f.si)).state).toBe('done');
    await deleteShares(g, f.si, [5]);
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const res = await request(g.adminUrl).post(`/admin/api/v1/jobs/${f.si}/repair`).set(auth);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ storageIndex: f.si });
    expect(['queued', 'encoding', 'done']).toContain(res.body.state);
    const job = await new RepairCalls(g.helper.url).waitFor(f.si);
    expect(job.state, String(job.lastError)).toBe('done');
    expect(job.result).toMatchObject({ repaired: [5], healthy: true });
    expect((await holdings(g, f.si)).size).toBe(10);
    expect((await request(g.adminUrl).post(`/admin/api/v1/jobs/${f.si}/repair`)).status).toBe(401);

    const pending = await prepare(randomBytes(1000));
    expect((await h.check(checkBody(pending, 3))).json.status).toBe('send');
    const refused = await request(g.adminUrl).post(`/admin/api/v1/jobs/${pending.si}/repair`).set(auth);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('CONFLICT');
    expect((await request(g.adminUrl).post(`/admin/api/v1/jobs/${'a'.repeat(26)}/repair`).set(auth)).status).toBe(404);
  });
});
