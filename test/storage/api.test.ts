import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Express } from 'express';
import fc from 'fast-check';
import request from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStorageApp } from '../../storage/server.js';
import { DAY_MS, DiskShareStore, type DiskStoreOptions } from '../../storage/store/disk-store.js';

const TOKEN = 'grid-token-for-tests-0123456789';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const SI = 'aaaaaaaaaaaaaaaaaaaaaaaaaa';
const SI2 = 'mfrggzdfmztwq2lknnwg23tpoa';
const BASE = '/storage/v1';

let parent: string;
let dir: string;
let now: number;
let store: DiskShareStore;
let app: Express;

async function boot(extra: Partial<DiskStoreOptions> = {}, maxWriteSize?: number): Promise<void> {
  store = await DiskShareStore.open({ dir, clock: () => now, ...extra });
  app = createStorageApp({ store, token: TOKEN, maxWriteSize });
}

function binary(res: request.Response, cb: (err: Error | null, body: Buffer) => void): void {
  const parts: Buffer[] = [];
  res.on('data', (c: Buffer) => parts.push(c));
  res.on('end', () => cb(null, Buffer.concat(parts)));
}

function allocate(si: string, shareSize: number, shareNumbers: number[]) {
  return request(app).post(`${BASE}/immutable/${si}`).set(AUTH).send({ shareSize, shareNumbers });
}

function patch(si: string, shnum: number | string, contentRange: string | undefined, bytes: Uint8Array) {
  const r = request(app).patch(`${BASE}/immutable/${si}/${shnum}`).set(AUTH).type('application/octet-stream');
  if (contentRange !== undefined) r.set('Content-Range', contentRange);
  return r.send(Buffer.from(bytes));
}

function put(si: string, shnum: number, data: Uint8Array, start: number, end: number) {
  return patch(si, shnum, `bytes ${start}-${end - 1}/${data.length}`, data.subarray(start, end));
}

function read(si: string, shnum: number, range?: string) {
  const r = request(app).get(`${BASE}/immutable/${si}/${shnum}`).set(AUTH).buffer(true).parse(binary);
  return range === undefined ? r : r.set('Range', range);
}

function expectError(res: request.Response, status: number, code: string): void {
  expect(res.status).toBe(status);
  const body = Buffer.isBuffer(res.body) ? JSON.parse(res.body.toString('utf8')) : res.body;
  expect(body.error).toBe(code);
  expect(typeof body.message).toBe('string');
  expect(JSON.stringify(body)).not.toMatch(/at .*\.(ts|js):\d+/); // no stack traces
}

async function tree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      out.push(path.relative(root, path.join(d, e.name)));
      if (e.isDirectory()) await walk(path.join(d, e.name));
    }
  };
  await walk(root);
  return out.sort();
}

beforeEach(async () => {
  parent = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-api-'));
  dir = path.join(parent, 'data');
  now = Date.UTC(2030, 0, 1);
  await boot();
});

afterEach(async () => {
  await store.close();
  await fs.rm(parent, { recursive: true, force: true });
});

describe('auth and routing', () => {
  it('requires the bearer token on every route', async () => {
    for (const [method, url] of [
      ['get', `${BASE}/info`],
      ['get', `${BASE}/status`],
      ['post', `${BASE}/immutable/${SI}`],
      ['patch', `${BASE}/immutable/${SI}/0`],
      ['get', `${BASE}/immutable/${SI}/0`],
      ['put', `${BASE}/lease/${SI}`],
      ['get', `${BASE}/no-such-route`],
    ] as const) {
      const res = await request(app)[method](url);
      expectError(res, 401, 'UNAUTHORIZED');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
    }
    expectError(await request(app).get(`${BASE}/info`).set('Authorization', `Bearer ${TOKEN}x`), 401, 'UNAUTHORIZED');
    expectError(await request(app).get(`${BASE}/info`).set('Authorization', `Basic ${TOKEN}`), 401, 'UNAUTHORIZED');
    expectError(await request(app).get(`${BASE}/info`).set('Authorization', `Bearer`), 401, 'UNAUTHORIZED');
    expect((await request(app).get(`${BASE}/info`).set('Authorization', `bearer ${TOKEN}`)).status).toBe(200);
  });

  it('answers 404 for unknown routes and methods', async () => {
    expectError(await request(app).get(`${BASE}/nope`).set(AUTH), 404, 'NOT_FOUND');
    expectError(await request(app).get(`/storage/v2/info`).set(AUTH), 404, 'NOT_FOUND');
    expectError(await request(app).get(`${BASE}/INFO`).set(AUTH), 404, 'NOT_FOUND');
    expectError(await request(app).put(`${BASE}/immutable/${SI}/0`).set(AUTH), 404, 'NOT_FOUND');
  });

  it('reports server info', async () => {
    const res = await request(app).get(`${BASE}/info`).set(AUTH);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ serverId: store.serverId, protocolVersion: 1, maximumShareSize: store.maxShareSize });
    expect(res.body.availableSpace).toBeGreaterThan(0);
  });
});

describe('bad input', () => {
  it('rejects malformed storage indexes without touching the file system', async () => {
    const before = await tree(parent);
    const bad = [
      '..%2f..%2f..%2fetc',
      '..%2F..%2Faaaaaaaaaaaaaaaaaaaa',
      '%2e%2e',
      SI.toUpperCase(),
      SI.slice(1),
      `${SI}a`,
      'aaaaaaaaaaaaaaaaaaaaaaaaa1',
      'aaaaaaaaaaaaaaaaaaaaaaaaab', // non-canonical trailing bits
      '%00aaaaaaaaaaaaaaaaaaaaaaaaa',
    ];
    for (const si of bad) {
      expectError(await request(app).post(`${BASE}/immutable/${si}`).set(AUTH).send({ shareSize: 10, shareNumbers: [0] }), 400, 'INVALID_STORAGE_INDEX');
      expectError(await patch(si, 0, 'bytes 0-1/2', Buffer.from('ab')), 400, 'INVALID_STORAGE_INDEX');
      expectError(await read(si, 0), 400, 'INVALID_STORAGE_INDEX');
      expectError(await request(app).get(`${BASE}/immutable/${si}/shares`).set(AUTH), 400, 'INVALID_STORAGE_INDEX');
      expectError(await request(app).put(`${BASE}/lease/${si}`).set(AUTH), 400, 'INVALID_STORAGE_INDEX');
      // Path parameters are checked before any body is looked at.
      expectError(await request(app).post(`${BASE}/immutable/${si}`).set(AUTH).type('text/plain').send('x'), 400, 'INVALID_STORAGE_INDEX');
    }
    expect(await tree(parent)).toEqual(before);
  });

  it('rejects share numbers outside 0..255', async () => {
    for (const n of ['256', '-1', '01', '1e2', 'abc', '3.0']) {
      expectError(await read(SI, n as unknown as number), 400, 'INVALID_SHARE_NUMBER');
    }
    expectError(await allocate(SI, 10, [256]), 400, 'INVALID_SHARE_NUMBER');
    expectError(await allocate(SI, 10, [-1]), 400, 'INVALID_SHARE_NUMBER');
    expectError(await allocate(SI, 10, [1, 1]), 400, 'INVALID_SHARE_NUMBER');
  });

  it('validates allocation bodies', async () => {
    expectError(await request(app).post(`${BASE}/immutable/${SI}`).set(AUTH).type('application/json').send('{"shareSize":'), 400, 'BAD_REQUEST');
    expectError(await request(app).post(`${BASE}/immutable/${SI}`).set(AUTH).type('text/plain').send('hello'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectError(await request(app).post(`${BASE}/immutable/${SI}`).set(AUTH), 400, 'BAD_REQUEST');
    expectError(await request(app).post(`${BASE}/immutable/${SI}`).set(AUTH).send({ shareSize: 0, shareNumbers: [0] }), 400, 'BAD_REQUEST');
    expectError(await request(app).post(`${BASE}/immutable/${SI}`).set(AUTH).send({ shareSize: 1.5, shareNumbers: [0] }), 400, 'BAD_REQUEST');
    expectError(await request(app).post(`${BASE}/immutable/${SI}`).set(AUTH).send({ shareSize: 5, shareNumbers: [] }), 400, 'BAD_REQUEST');
    expectError(await request(app).post(`${BASE}/immutable/${SI}`).set(AUTH).send({ shareSize: 5, shareNumbers: [0], extra: 1 }), 400, 'BAD_REQUEST');
    const huge = { shareSize: 5, shareNumbers: [0], pad: 'x'.repeat(200_000) };
    expectError(await request(app).post(`${BASE}/immutable/${SI}`).set(AUTH).send(huge), 413, 'PAYLOAD_TOO_LARGE');
    expect(await tree(dir)).not.toContainEqual(expect.stringContaining(SI));
  });

  it('checks Content-Range syntax and bounds against the allocation', async () => {
    expect((await allocate(SI, 10, [0])).status).toBe(200);
    const cases: [string | undefined, number][] = [
      [undefined, 2],
      ['bytes=0-1', 2],
      ['bytes 0-1', 2],
      ['bytes 1-0/10', 2],
      ['bytes -1-0/10', 2],
      ['bytes 0-1/1', 2],
      ['bytes */10', 2],
      ['items 0-1/10', 2],
      ['bytes 0-1/11', 2], // total differs from the allocated size
      ['bytes 9-10/*', 2], // beyond the allocation
      ['bytes 0-2/10', 2], // body shorter than the range
      ['bytes 0-0/10', 2], // body longer than the range
    ];
    for (const [cr, len] of cases) expectError(await patch(SI, 0, cr, randomBytes(len)), 400, 'INVALID_RANGE');
    expectError(await patch(SI, 1, 'bytes 0-1/10', randomBytes(2)), 404, 'NOT_FOUND');
    const res = await request(app).patch(`${BASE}/immutable/${SI}/0`).set(AUTH).type('text/plain').set('Content-Range', 'bytes 0-1/10').send('ab');
    expectError(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect((await request(app).get(`${BASE}/immutable/${SI}/0/missing`).set(AUTH)).body.missing).toEqual([[0, 10]]);
  });

  it('refuses a body larger than the write limit and leaves nothing', async () => {
    await store.close();
    await boot({}, 1024);
    expect((await allocate(SI, 4096, [0])).status).toBe(200);
    const before = await tree(parent);
    expectError(await patch(SI, 0, 'bytes 0-2047/4096', randomBytes(2048)), 413, 'PAYLOAD_TOO_LARGE');
    expectError(await patch(SI, 0, 'bytes 0-2047/4096', randomBytes(1000)), 413, 'PAYLOAD_TOO_LARGE');
    expect(await tree(parent)).toEqual(before);
    expect((await request(app).get(`${BASE}/immutable/${SI}/0/missing`).set(AUTH)).body.missing).toEqual([[0, 4096]]);
    expect((await patch(SI, 0, 'bytes 0-1023/4096', randomBytes(1024))).status).toBe(200);
  });

  it('refuses allocations beyond the space left after the reserved space', async () => {
    await store.close();
    await boot({ freeSpace: async () => 10_000, reservedSpace: 4_000 });
    expect((await request(app).get(`${BASE}/info`).set(AUTH)).body.availableSpace).toBe(6_000);
    const before = await tree(parent);
    const res = await allocate(SI, 2_000, [0, 1, 2, 3]);
    expectError(res, 507, 'INSUFFICIENT_STORAGE');
    expect(res.body.message).toMatch(/not enough space/);
    expect(res.body).toMatchObject({ needed: 8_000, available: 6_000 });
    expect(await tree(parent)).toEqual(before);
    expect((await allocate(SI, 2_000, [0, 1, 2])).status).toBe(200);
    expect((await request(app).get(`${BASE}/info`).set(AUTH)).body.availableSpace).toBe(0);
  });
});

describe('uploads', () => {
  it('takes chunks out of order, reports missing ranges, 409 on conflict, 201 on completion', async () => {
    const data = randomBytes(100);
    let res = await allocate(SI, 100, [0, 4]);
    expect(res.body).toMatchObject({ alreadyHave: [], allocated: [0, 4], missing: { '0': [[0, 100]], '4': [[0, 100]] } });
    res = await put(SI, 4, data, 80, 100);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ shareSize: 100, complete: false, missing: [[0, 80]] });
    res = await put(SI, 4, data, 10, 30);
    expect(res.body.missing).toEqual([
      [0, 10],
      [30, 80],
    ]);
    res = await put(SI, 4, data, 20, 90); // overlap, identical bytes
    expect(res.body.missing).toEqual([[0, 10]]);
    const bad = Buffer.from(data.subarray(0, 30));
    bad[25] ^= 1;
    res = await patch(SI, 4, 'bytes 0-29/*', bad);
    expectError(res, 409, 'WRITE_CONFLICT');
    res = await request(app).get(`${BASE}/immutable/${SI}/4/missing`).set(AUTH);
    expect(res.body).toEqual({ shareSize: 100, complete: false, missing: [[0, 10]] });
    expectError(await read(SI, 4), 404, 'NOT_FOUND'); // not readable while partial
    expect((await request(app).get(`${BASE}/immutable/${SI}/shares`).set(AUTH)).body).toEqual({ shareNumbers: [] });
    res = await put(SI, 4, data, 0, 10);
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ shareSize: 100, complete: true, missing: [] });
    expect((await put(SI, 4, data, 0, 10)).status).toBe(201); // lost-response retry
    expect((await request(app).get(`${BASE}/immutable/${SI}/shares`).set(AUTH)).body).toEqual({ shareNumbers: [4] });
    expect((await read(SI, 4)).body).toEqual(data);
    res = await allocate(SI, 100, [0, 4]);
    expect(res.body).toMatchObject({ alreadyHave: [4], allocated: [0] });
  });

  it('handles concurrent writes of disjoint chunks', async () => {
    const data = randomBytes(32 * 1024);
    await allocate(SI, data.length, [0]);
    const step = 2048;
    const results = await Promise.all(Array.from({ length: data.length / step }, (_, i) => put(SI, 0, data, i * step, (i + 1) * step)));
    expect(results.map((r) => r.status).sort()).toEqual([...Array(15).fill(200), 201]);
    expect(Buffer.compare((await read(SI, 0)).body, data)).toBe(0);
  });

  it('counts nothing of a PATCH whose client went away midway, and takes the range again afterwards', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17); // several body batches
    await allocate(SI, data.length, [0]);
    const server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const req = http.request({
        port,
        host: '127.0.0.1',
        method: 'PATCH',
        path: `${BASE}/immutable/${SI}/0`,
        headers: { ...AUTH, 'Content-Type': 'application/octet-stream', 'Content-Range': `bytes 0-${data.length - 1}/${data.length}`, 'Content-Length': data.length },
      });
      req.on('error', () => undefined);
      req.write(data.subarray(0, 2 * 1024 * 1024));
      await new Promise((r) => setTimeout(r, 50));
      req.destroy();
      // The write lock is released once the server has given up on that body; nothing of it counts.
      const res = await put(SI, 0, data, 0, 1024);
      expect(res.status).toBe(200);
      expect(res.body.missing).toEqual([[1024, data.length]]);
      expect((await put(SI, 0, data, 1024, data.length)).status).toBe(201);
      expect(Buffer.compare((await read(SI, 0)).body, data)).toBe(0);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('resumes a partial share after a restart', async () => {
    const data = randomBytes(300);
    await allocate(SI, 300, [1]);
    await put(SI, 1, data, 100, 200);
    await store.close();
    await boot();
    const res = await allocate(SI, 300, [1]);
    expect(res.body).toMatchObject({
      alreadyHave: [],
      allocated: [1],
      missing: {
        '1': [
          [0, 100],
          [200, 300],
        ],
      },
    });
    expect((await put(SI, 1, data, 0, 100)).status).toBe(200);
    expect((await put(SI, 1, data, 200, 300)).status).toBe(201);
    expect((await read(SI, 1)).body).toEqual(data);
  });

  it('aborts an upload in progress', async () => {
    await allocate(SI, 10, [0, 1]);
    await put(SI, 1, Buffer.from('0123456789'), 0, 10);
    expect((await request(app).delete(`${BASE}/immutable/${SI}/0`).set(AUTH)).status).toBe(204);
    expectError(await request(app).delete(`${BASE}/immutable/${SI}/0`).set(AUTH), 404, 'NOT_FOUND');
    expectError(await request(app).delete(`${BASE}/immutable/${SI}/1`).set(AUTH), 409, 'CONFLICT');
  });

  it('reads back what was written, for random chunkings and orders (property)', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 2000 }), fc.array(fc.nat(), { maxLength: 6 }), fc.nat(), async (data, cutsRaw, seed) => {
        const shnum = n++;
        const cuts = [...new Set(cutsRaw.map((c) => c % data.length).filter((c) => c > 0))].sort((a, b) => a - b);
        const bounds = [0, ...cuts, data.length];
        const pieces = bounds.slice(0, -1).map((s, i) => [s, bounds[i + 1]] as const);
        for (let i = pieces.length - 1; i > 0; i--) {
          const j = (seed + i * 7919) % (i + 1);
          [pieces[i], pieces[j]] = [pieces[j], pieces[i]];
        }
        expect((await allocate(SI2, data.length, [shnum])).status).toBe(200);
        const statuses: number[] = [];
        for (const [s, e] of pieces) statuses.push((await put(SI2, shnum, data, s, e)).status);
        expect(statuses.at(-1)).toBe(201);
        expect(new Uint8Array((await read(SI2, shnum)).body)).toEqual(data);
      }),
      { numRuns: 25 },
    );
  });
});

describe('reads', () => {
  const data = randomBytes(1000);
  beforeEach(async () => {
    await allocate(SI, data.length, [0]);
    expect((await put(SI, 0, data, 0, data.length)).status).toBe(201);
  });

  it('serves the whole share, single ranges at the edges, and HEAD', async () => {
    let res = await read(SI, 0);
    expect(res.status).toBe(200);
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.headers['content-length']).toBe('1000');
    expect(res.body).toEqual(data);
    const cases: [string, number, number][] = [
      ['bytes=0-0', 0, 1],
      ['bytes=999-999', 999, 1000],
      ['bytes=0-999', 0, 1000],
      ['bytes=500-5000', 500, 1000],
      ['bytes=990-', 990, 1000],
      ['bytes=-1', 999, 1000],
      ['bytes=-5000', 0, 1000],
    ];
    for (const [range, start, end] of cases) {
      res = await read(SI, 0, range);
      expect(res.status, range).toBe(206);
      expect(res.headers['content-range']).toBe(`bytes ${start}-${end - 1}/1000`);
      expect(res.headers['content-length']).toBe(String(end - start));
      expect(res.body).toEqual(data.subarray(start, end));
    }
    res = await request(app).head(`${BASE}/immutable/${SI}/0`).set(AUTH);
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe('1000');
    res = await request(app).head(`${BASE}/immutable/${SI}/0`).set(AUTH).set('Range', 'bytes=10-19');
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe('bytes 10-19/1000');
  });

  it('answers 416 for unsatisfiable ranges and 400 for malformed ones', async () => {
    for (const range of ['bytes=1000-', 'bytes=1000-2000', 'bytes=-0']) {
      const res = await read(SI, 0, range);
      expect(res.status).toBe(416);
      expect(res.headers['content-range']).toBe('bytes */1000');
      expect(JSON.parse(res.body.toString()).error).toBe('RANGE_NOT_SATISFIABLE');
    }
    for (const range of ['bytes=5-1', 'bytes=a-b', 'bytes=0-1,5-6', 'lines=0-1', 'bytes=', 'bytes 0-1', 'bytes=--1', 'bytes=1-2-3']) {
      const res = await read(SI, 0, range);
      expect(res.status, range).toBe(400);
      expect(JSON.parse(res.body.toString()).error).toBe('INVALID_RANGE');
    }
    expectError(await request(app).get(`${BASE}/immutable/${SI}/1`).set(AUTH), 404, 'NOT_FOUND');
    expectError(await request(app).get(`${BASE}/immutable/${SI2}/0`).set(AUTH), 404, 'NOT_FOUND');
  });

  it('lists share numbers; an unknown storage index has none', async () => {
    expect((await request(app).get(`${BASE}/immutable/${SI}/shares`).set(AUTH)).body).toEqual({ shareNumbers: [0] });
    expect((await request(app).get(`${BASE}/immutable/${SI2}/shares`).set(AUTH)).body).toEqual({ shareNumbers: [] });
  });
});

describe('corruption reports, leases, status, sweep', () => {
  it('records corruption reports and shows them in the status', async () => {
    await allocate(SI, 3, [0]);
    expectError(await request(app).post(`${BASE}/immutable/${SI}/0/corrupt`).set(AUTH).send({ reason: 'x' }), 404, 'NOT_FOUND');
    await put(SI, 0, Buffer.from('abc'), 0, 3);
    expectError(await request(app).post(`${BASE}/immutable/${SI}/0/corrupt`).set(AUTH).send({ reason: '' }), 400, 'BAD_REQUEST');
    expectError(await request(app).post(`${BASE}/immutable/${SI}/0/corrupt`).set(AUTH).send({ reason: 'x'.repeat(32766) }), 400, 'BAD_REQUEST');
    const res = await request(app).post(`${BASE}/immutable/${SI}/0/corrupt`).set(AUTH).send({ reason: 'hash mismatch' });
    expect(res.status).toBe(200);
    expect(res.body.recorded).toBe(true);
    const status = await request(app).get(`${BASE}/status`).set(AUTH);
    expect(status.body.corruption.count).toBe(1);
    expect(status.body.corruption.recent[0]).toMatchObject({ storageIndex: SI, shareNumber: 0, reason: 'hash mismatch' });
    expect(status.body.shares).toEqual({ storageIndexes: 1, count: 1, bytes: 3 });
  });

  it('renews leases; the sweep deletes shares whose lease expired and idle partials', async () => {
    await allocate(SI, 3, [0, 1]);
    await put(SI, 0, Buffer.from('abc'), 0, 3);
    await request(app).post(`${BASE}/immutable/${SI2}`).set(AUTH).send({ shareSize: 3, shareNumbers: [0], leaseSeconds: 3600 });
    await put(SI2, 0, Buffer.from('xyz'), 0, 3);
    expectError(await request(app).put(`${BASE}/lease/mzxw6ytboi2tgmzumfsgkzlcmi`).set(AUTH), 404, 'NOT_FOUND');
    now += 30 * DAY_MS;
    const lease = await request(app).put(`${BASE}/lease/${SI}`).set(AUTH).send({ leaseSeconds: 10 * 86400 });
    expect(lease.status).toBe(200);
    expect(lease.body.expiresAt).toBe(now + 10 * DAY_MS);
    const sweep = await store.sweep(); // SI2's one-hour lease is long gone; SI's partial share 1 idle for 30 days
    expect(sweep).toMatchObject({ expiredLeases: 1, deletedShares: 1, expiredPartials: 1 });
    expect((await request(app).get(`${BASE}/immutable/${SI2}/shares`).set(AUTH)).body.shareNumbers).toEqual([]);
    expect((await request(app).get(`${BASE}/immutable/${SI}/shares`).set(AUTH)).body.shareNumbers).toEqual([0]);
    expectError(await request(app).get(`${BASE}/immutable/${SI}/1/missing`).set(AUTH), 404, 'NOT_FOUND');
    const status = await request(app).get(`${BASE}/status`).set(AUTH);
    expect(status.body.lastSweep).toMatchObject({ expiredLeases: 1, expiredPartials: 1 });
    now += 11 * DAY_MS;
    expect((await store.sweep()).deletedShares).toBe(1);
    expect(await tree(path.join(dir, 'shares'))).toEqual(['aa', 'mf']);
  });
});
