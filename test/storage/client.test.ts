import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FerryError } from '../../core/errors.js';
import { StorageClient } from '../../storage/client.js';
import { startStorageServer, type RunningStorageServer, type StorageServerOptions } from '../../storage/server.js';
import { DAY_MS } from '../../storage/store/disk-store.js';

const TOKEN = 'client-test-token-0123456789';
const SI = 'aaaaaaaaaaaaaaaaaaaaaaaaaa';
const SI2 = 'mfrggzdfmztwq2lknnwg23tpoa';

let dir: string;
let now: number;
let server: RunningStorageServer;
let client: StorageClient;
const cleanup: (() => Promise<void>)[] = [];

async function start(extra: Partial<StorageServerOptions> = {}): Promise<void> {
  server = await startStorageServer({ dir, token: TOKEN, clock: () => now, sweepOnStart: false, ...extra });
  client = new StorageClient({ url: server.url, token: TOKEN, connections: 4 });
}

async function stop(): Promise<void> {
  await client.close();
  await server.close();
}

async function failure(p: Promise<unknown>): Promise<FerryError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(FerryError);
    return err as FerryError;
  }
  throw new Error('expected a failure');
}

/** Byte equality without vitest's slow element-wise diff on large arrays. */
function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(actual.length).toBe(expected.length);
  expect(Buffer.compare(Buffer.from(actual.buffer, actual.byteOffset, actual.length), expected)).toBe(0);
}

async function until(cond: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function openFdsOn(file: string): Promise<number> {
  let n = 0;
  for (const fd of await fs.readdir('/proc/self/fd')) {
    const target = await fs.readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target === file) n++;
  }
  return n;
}

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-client-'));
  now = Date.UTC(2030, 0, 1);
  await start();
});

afterEach(async () => {
  await stop();
  for (const f of cleanup.splice(0)) await f();
  await fs.rm(dir, { recursive: true, force: true });
});

describe('StorageClient against a real server', () => {
  it('uploads, lists and reads shares', async () => {
    const info = await client.info();
    expect(info.serverId).toBe(server.serverId);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const data = randomBytes(10_000);
    const alloc = await client.allocate(SI, data.length, [0, 1]);
    expect(alloc).toMatchObject({ alreadyHave: [], allocated: [0, 1], missing: { '0': [[0, 10_000]] } });
    let p = await client.write(SI, 0, 5000, data.subarray(5000));
    expect(p).toEqual({ shareSize: 10_000, complete: false, missing: [[0, 5000]] });
    expect(await client.missing(SI, 0)).toEqual(p);
    // A stream body of known length.
    const stream = Readable.from([data.subarray(0, 1000), data.subarray(1000, 5000)]);
    p = await client.write(SI, 0, 0, { stream, length: 5000 });
    expect(p.complete).toBe(true);
    expect(await client.list(SI)).toEqual([0]);
    expect(await client.size(SI, 0)).toBe(10_000);
    expectBytes(await client.read(SI, 0, 0, 10_000), data);
    expectBytes(await client.read(SI, 0, 9_990, 20_000), data.subarray(9_990));
    expect(await client.read(SI, 0, 3, 3)).toEqual(new Uint8Array(0));
    const rs = await client.readStream(SI, 0, 100, 200);
    expect(rs).toMatchObject({ start: 100, end: 200, size: 10_000 });
    const parts: Buffer[] = [];
    for await (const c of rs.body) parts.push(c as Buffer);
    expect(Buffer.concat(parts)).toEqual(data.subarray(100, 200));
    // Storage indexes may be given as bytes too.
    expect(await client.list(new Uint8Array(16))).toEqual([0]);
  });

  it('maps server errors to FerryError codes', async () => {
    const data = randomBytes(100);
    await client.allocate(SI, 100, [0]);
    await client.write(SI, 0, 0, data.subarray(0, 50));
    const other = Buffer.from(data.subarray(0, 50));
    other[0] ^= 1;
    const conflict = await failure(client.write(SI, 0, 0, other));
    expect(conflict.code).toBe('WRITE_CONFLICT');
    expect(conflict.details).toMatchObject({ status: 409, conflict: [0, 50] });
    expect((await failure(client.read(SI, 0, 0, 10))).code).toBe('NOT_FOUND');
    await client.write(SI, 0, 50, data.subarray(50));
    expect((await failure(client.read(SI, 0, 100, 200))).code).toBe('RANGE_NOT_SATISFIABLE');
    expect((await failure(client.write(SI, 0, 90, randomBytes(20)))).code).toBe('INVALID_RANGE');
    expect((await failure(client.list('AAAAAAAAAAAAAAAAAAAAAAAAAA'))).code).toBe('INVALID_STORAGE_INDEX');
    expect((await failure(client.missing(SI, 256))).code).toBe('INVALID_SHARE_NUMBER');
    expect((await failure(client.renewLease(SI2))).code).toBe('NOT_FOUND');
    const bad = new StorageClient({ url: server.url, token: 'wrong-token-0123456789' });
    cleanup.push(() => bad.close());
    expect((await failure(bad.info())).code).toBe('UNAUTHORIZED');
  });

  it('keeps INSUFFICIENT_STORAGE (a 5xx with a code) as the server sent it', async () => {
    await stop();
    await start({ freeSpace: async () => 1000, reservedSpace: 500 });
    const err = await failure(client.allocate(SI, 600, [0]));
    expect(err.code).toBe('INSUFFICIENT_STORAGE');
    expect(err.details).toMatchObject({ status: 507, needed: 600, available: 500 });
  });

  it('reports network failures and bad responses as UPSTREAM_ERROR with the cause', async () => {
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const refused = new StorageClient({ url: `http://127.0.0.1:${port}`, token: TOKEN });
    cleanup.push(() => refused.close());
    const err = await failure(refused.info());
    expect(err.code).toBe('UPSTREAM_ERROR');
    expect(err.cause).toBeDefined();

    const weird = http.createServer((req, res) => {
      if (req.url?.endsWith('/info')) res.writeHead(500, { 'content-type': 'text/plain' }).end('boom');
      else if (req.url?.endsWith('/status')) res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"INTERNAL","message":"internal error"}');
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"unexpected":true}');
    });
    await new Promise<void>((r) => weird.listen(0, '127.0.0.1', r));
    const weirdClient = new StorageClient({ url: `http://127.0.0.1:${(weird.address() as AddressInfo).port}`, token: TOKEN });
    cleanup.push(async () => {
      await weirdClient.close();
      await new Promise<void>((r) => weird.close(() => r()));
    });
    const e1 = await failure(weirdClient.info());
    expect(e1.code).toBe('UPSTREAM_ERROR');
    expect(e1.message).toMatch(/500: boom/);
    expect((await failure(weirdClient.status())).code).toBe('UPSTREAM_ERROR');
    expect((await failure(weirdClient.list(SI))).code).toBe('UPSTREAM_ERROR');
  });

  it('honours AbortSignal and releases the file when a read is abandoned', async () => {
    const data = randomBytes(4 * 2 ** 20);
    await client.allocate(SI, data.length, [0]);
    await client.write(SI, 0, 0, data);
    expect((await failure(client.info({ signal: AbortSignal.abort() }))).code).toBe('ABORTED');
    const shareFile = path.join(server.store.layout.sharePath(SI, 0));
    const ac = new AbortController();
    const rs = await client.readStream(SI, 0, 0, data.length, { signal: ac.signal });
    const it = rs.body[Symbol.asyncIterator]();
    await it.next();
    ac.abort();
    await expect(it.next()).rejects.toThrow();
    if (existsSync('/proc/self/fd')) await until(async () => (await openFdsOn(shareFile)) === 0);
    const ac2 = new AbortController();
    const pending = client.read(SI, 0, 0, data.length, { signal: ac2.signal });
    ac2.abort();
    expect((await failure(pending)).code).toBe('ABORTED');
    if (existsSync('/proc/self/fd')) await until(async () => (await openFdsOn(shareFile)) === 0);
    // The pool is still usable.
    expectBytes(await client.read(SI, 0, 0, 16), data.subarray(0, 16));
  });

  it('resumes after a server restart and completes the share', async () => {
    const data = randomBytes(3000);
    await client.allocate(SI, 3000, [2]);
    await client.write(SI, 2, 1000, data.subarray(1000, 2000));
    const id = server.serverId;
    await stop();
    await start();
    expect(server.serverId).toBe(id);
    const again = await client.allocate(SI, 3000, [2]);
    expect(again.missing['2']).toEqual([
      [0, 1000],
      [2000, 3000],
    ]);
    await client.write(SI, 2, 0, data.subarray(0, 1000));
    expect((await client.write(SI, 2, 2000, data.subarray(2000))).complete).toBe(true);
    expectBytes(await client.read(SI, 2, 0, 3000), data);
  });

  it('keeps received ranges when a client disconnects mid-chunk, counting nothing of that chunk', async () => {
    const data = randomBytes(200_000);
    await client.allocate(SI, data.length, [0]);
    await client.write(SI, 0, 0, data.subarray(0, 1000));
    const url = new URL(`${server.url}/storage/v1/immutable/${SI}/0`);
    const req = http.request(url, {
      method: 'PATCH',
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/octet-stream',
        'content-range': `bytes 1000-199999/200000`,
        'content-length': String(199_000),
      },
    });
    req.on('error', () => {});
    req.write(data.subarray(1000, 100_000));
    await new Promise((r) => setTimeout(r, 50));
    req.destroy();
    // A retry of the first chunk waits for the aborted write (same share lock), so the state is settled after it.
    await client.write(SI, 0, 0, data.subarray(0, 1000));
    expect((await client.missing(SI, 0)).missing).toEqual([[1000, 200_000]]);
    expect((await client.write(SI, 0, 1000, data.subarray(1000))).complete).toBe(true);
    expectBytes(await client.read(SI, 0, 0, data.length), data);
  });

  it('reports corruption, renews leases, aborts uploads, shows status and sweeps', async () => {
    await client.allocate(SI, 4, [0, 1]);
    await client.write(SI, 0, 0, Buffer.from('abcd'));
    const report = await client.reportCorruption(SI, 0, 'bad block hash');
    expect(report.recorded).toBe(true);
    await client.abort(SI, 1);
    expect((await failure(client.abort(SI, 1))).code).toBe('NOT_FOUND');
    const lease = await client.renewLease(SI, { leaseSeconds: 86400 });
    expect(lease.expiresAt).toBe(now + 31 * DAY_MS);
    const status = await client.status();
    expect(status.corruption.recent[0]).toMatchObject({ id: report.id, reason: 'bad block hash' });
    expect(status.partials.count).toBe(0);
    now += 32 * DAY_MS;
    expect((await server.sweep()).deletedShares).toBe(1);
    expect(await client.list(SI)).toEqual([]);
  });

  it('runs the sweep on its timer', async () => {
    await stop();
    await start({ sweepIntervalMs: 20, partialIdleMs: DAY_MS });
    await client.allocate(SI, 10, [0]);
    expect((await client.status()).partials.count).toBe(1);
    now += 2 * DAY_MS;
    await until(async () => (await client.status()).partials.count === 0);
    expect((await client.status()).lastSweep).not.toBeNull();
  });
});
