/**
 * Token separation on every client route, in both directions: no token and
 * the admin token get 401 on each (including the upload PATCH, the tus POST,
 * repair and check-file); the admin listener refuses the client token (see
 * admin/api.test.ts). Each refused request changes nothing.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startAdminGrid } from '../support/admin.js';
import { putFile, type StoredFile } from '../support/gateway-fixture.js';
import { CLIENT_TOKEN } from '../support/grid.js';
import { HelperCalls } from '../support/helper-client.js';
import { checkBody, prepare, type PreparedFile } from '../support/prepare.js';

let grid: Awaited<ReturnType<typeof startAdminGrid>> | undefined;
let stored: StoredFile;
let pending: PreparedFile;

beforeAll(async () => {
  grid = await startAdminGrid({ servers: 10 });
  stored = await putFile(grid, randomBytes(70_000));
  pending = await prepare(randomBytes(3 * 64 * 1024));
  expect((await new HelperCalls(grid.helper.url).check(checkBody(pending, 3))).json.status).toBe('send');
});
afterAll(async () => grid?.close());

function routes(): { name: string; init: RequestInit & { headers: Record<string, string> }; path: string }[] {
  const tus = { 'tus-resumable': '1.0.0' };
  return [
    { name: 'info', path: '/helper/v1/info', init: { method: 'GET', headers: {} } },
    { name: 'check', path: '/helper/v1/check', init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(checkBody(pending, 3)) } },
    { name: 'job', path: `/helper/v1/jobs/${pending.si}`, init: { method: 'GET', headers: {} } },
    { name: 'tus HEAD', path: `/helper/v1/uploads/${pending.si}`, init: { method: 'HEAD', headers: tus } },
    { name: 'tus PATCH', path: `/helper/v1/uploads/${pending.si}`, init: { method: 'PATCH', headers: { ...tus, 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }, body: pending.ciphertext.subarray(0, 65_538) } },
    { name: 'tus POST', path: '/helper/v1/uploads', init: { method: 'POST', headers: { ...tus, 'upload-length': '100', 'upload-metadata': `storageIndex ${Buffer.from(pending.si).toString('base64')}` } } },
    { name: 'check-file', path: '/helper/v1/check-file', init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cap: stored.cap }) } },
    { name: 'repair', path: '/helper/v1/repair', init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cap: stored.cap }) } },
  ];
}

describe('client routes and tokens', () => {
  it('refuse a missing token and the admin token with 401, and change nothing', async () => {
    const refused: Record<string, string>[] = [{}, { authorization: `Bearer ${ADMIN_TOKEN}` }];
    for (const auth of refused) {
      for (const r of routes()) {
        const res = await fetch(`${grid!.helper.url}${r.path}`, { ...r.init, headers: { ...r.init.headers, ...auth } });
        expect(res.status, `${r.name} with ${JSON.stringify(auth)}`).toBe(401);
        await res.arrayBuffer();
      }
    }
    const h = new HelperCalls(grid!.helper.url, CLIENT_TOKEN);
    expect((await h.head(pending.si)).offset).toBe(0); // the refused PATCH wrote nothing
    const repair = await fetch(`${grid!.helper.url}/helper/v1/jobs/${stored.f.si}`, { headers: { authorization: `Bearer ${CLIENT_TOKEN}` } });
    expect((await repair.json()) as { kind?: string }).not.toMatchObject({ kind: 'repair' }); // no repair job was queued
  });

  it('accept the client token on the same routes (the positive control)', async () => {
    for (const r of routes()) {
      const res = await fetch(`${grid!.helper.url}${r.path}`, { ...r.init, headers: { ...r.init.headers, authorization: `Bearer ${CLIENT_TOKEN}` } });
      expect(res.status, r.name).not.toBe(401);
      await res.arrayBuffer();
    }
  });
});
