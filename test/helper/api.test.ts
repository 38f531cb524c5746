import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_TOKEN, startGrid, type TestGrid } from '../support/grid.js';
import { checkBody, prepare, type PreparedFile } from '../support/prepare.js';

let grid: TestGrid;
let f: PreparedFile;
beforeAll(async () => {
  grid = await startGrid({ servers: 3, helper: { limits: { maxFileSize: 10_000_000 } } });
  f = await prepare(randomBytes(100_000));
});
afterAll(() => grid.close());

const auth = { authorization: `Bearer ${CLIENT_TOKEN}` };
const api = () => request(grid.helper.url);

describe('helper API: bad input gets a clear 4xx and changes nothing', () => {
  it('needs the client token on every route', async () => {
    for (const r of [api().post('/helper/v1/check').send(checkBody(f)), api().get(`/helper/v1/jobs/${f.si}`), api().head(`/helper/v1/uploads/${f.si}`).set('tus-resumable', '1.0.0'), api().get('/helper/v1/info')]) {
      const res = await r;
      expect(res.status).toBe(401);
    }
    const wrong = await api().post('/helper/v1/check').set('authorization', 'Bearer nope').send(checkBody(f));
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: 'UNAUTHORIZED', message: 'invalid bearer token' });
  });

  it.each([
    ['a malformed storage index', { storageIndex: '../../etc/passwd' }, 'INVALID_STORAGE_INDEX'],
    ['an uppercase storage index', { storageIndex: 'A'.repeat(26) }, 'INVALID_STORAGE_INDEX'],
    ['k > n', { k: 11 }, 'INVALID_PARAMETERS'],
    ['n > 256', { n: 300 }, 'BAD_REQUEST'],
    ['happy < k', { happy: 2 }, 'INVALID_PARAMETERS'],
    ['a size beyond the limit', { size: 20_000_000 }, 'INVALID_PARAMETERS'],
    ['too few segment hashes', { segmentHashes: Buffer.alloc(32).toString('base64') }, 'INVALID_PARAMETERS'],
    ['hashes that are not base64', { segmentHashes: '!!!' }, 'BAD_REQUEST'],
    ['an unknown field', { extra: 1 }, 'BAD_REQUEST'],
    ['a negative size', { size: -1 }, 'BAD_REQUEST'],
  ])('refuses a check with %s', async (_what, patch, code) => {
    const res = await api().post('/helper/v1/check').set(auth).send({ ...checkBody(f), ...patch });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe(code);
    expect(typeof res.body.message).toBe('string');
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+/); // no stack trace
  });

  it('refuses a body that is not JSON', async () => {
    const res = await api().post('/helper/v1/check').set(auth).set('content-type', 'text/plain').send('hello');
    expect(res.status).toBe(415);
    expect(res.body.error).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 404 for unknown storage indexes and routes, 400 for malformed ones', async () => {
    const other = (await prepare(randomBytes(10))).si;
    expect((await api().get(`/helper/v1/jobs/${other}`).set(auth)).status).toBe(404);
    expect((await api().get('/helper/v1/jobs/not-a-storage-index').set(auth)).status).toBe(400);
    const head = await api().head(`/helper/v1/uploads/${other}`).set(auth).set('tus-resumable', '1.0.0');
    expect(head.status).toBe(404);
    const patch = await api()
      .patch(`/helper/v1/uploads/${other}`)
      .set(auth)
      .set({ 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' })
      .send(Buffer.alloc(10));
    expect(patch.status).toBe(404);
    expect((await api().get('/helper/v1/nope').set(auth)).body).toMatchObject({ error: 'NOT_FOUND' });
  });

  it('answers a tus PATCH at a wrong offset with 409 and keeps the spool', async () => {
    const g = await prepare(randomBytes(200_000));
    await api().post('/helper/v1/check').set(auth).send(checkBody(g)).expect(200);
    const res = await api()
      .patch(`/helper/v1/uploads/${g.si}`)
      .set(auth)
      .set({ 'tus-resumable': '1.0.0', 'upload-offset': '5', 'content-type': 'application/offset+octet-stream' })
      .send(g.ciphertext.subarray(5, 100));
    expect(res.status).toBe(409);
    const head = await api().head(`/helper/v1/uploads/${g.si}`).set(auth).set('tus-resumable', '1.0.0');
    expect(head.headers['upload-offset']).toBe('0');
  });

  it('rejects a second check of the same storage index with other parameters', async () => {
    const first = await api().post('/helper/v1/check').set(auth).send(checkBody(f));
    expect(first.body.status).toBe('send');
    const other = await api().post('/helper/v1/check').set(auth).send({ ...checkBody(f), maxSegmentSize: 128 * 1024, segmentHashes: Buffer.alloc(32).toString('base64') });
    expect(other.status).toBe(409);
    expect(other.body.error).toBe('CONFLICT');
    expect(other.body.message).toMatch(/segsize=65536/);
  });

  it('keeps every file it writes inside its data dir', async () => {
    // A snapshot of the whole grid root and of the temp dir's top level, before and after
    // requests that name paths outside the data dir, and one real upload (the positive control).
    const before = await walk(grid.dir);
    const tmpBefore = new Set(await readdir(os.tmpdir()));
    const escapes = ['../../etc/passwd', '..%2f..%2fescaped', '%2e%2e%2f%2e%2e%2fescaped', '..', 'escaped%00'];
    for (const e of escapes) {
      await api().post('/helper/v1/check').set(auth).send({ ...checkBody(f), storageIndex: e });
      await api().get(`/helper/v1/jobs/${e}`).set(auth);
      await api().head(`/helper/v1/uploads/${e}`).set(auth).set('tus-resumable', '1.0.0');
      await api().patch(`/helper/v1/uploads/${e}`).set(auth).set({ 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }).send(Buffer.alloc(10));
    }
    const g = await prepare(randomBytes(50_000));
    await api().post('/helper/v1/check').set(auth).send(checkBody(g)).expect(200);
    const added = (await walk(grid.dir)).filter((p) => !before.includes(p));
    expect(added).toContain(path.join('helper', 'incoming', `${g.si}.ct`));
    for (const p of added) expect(p).toMatch(/^(helper|storage-\d+)\//);
    expect(added.filter((p) => /escaped|passwd|etc/.test(p))).toEqual([]);
    const tmpAdded = (await readdir(os.tmpdir())).filter((n) => !tmpBefore.has(n));
    expect(tmpAdded.filter((n) => /escaped|passwd|^etc$/.test(n))).toEqual([]);
  });
});

/** Every file and directory under `root`, relative to it. */
async function walk(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true });
  return entries.map((e) => String(e)).sort();
}
