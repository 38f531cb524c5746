import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MerkleTree, splitHashes } from '../../core/merkle.js';
import { fileGeometry } from '../../core/params.js';
import { formatStorageIndex } from '../../core/storage-index.js';
import { validateCheck } from '../../helper/intake/check-request.js';
import { VerifySlots } from '../../helper/repair/verify-slots.js';
import { ADMIN_TOKEN, startAdminGrid } from '../support/admin.js';
import { CLIENT_TOKEN, startGrid, type TestGrid } from '../support/grid.js';
import { HelperCalls } from '../support/helper-client.js';
import { putFile } from '../support/gateway-fixture.js';
import { RepairCalls } from '../support/repair.js';
import { checkBody, prepare, type PreparedFile } from '../support/prepare.js';

/** A client holding a valid token, sending whatever it likes (issue 13). */
let grid: TestGrid & { adminUrl: string };
let f: PreparedFile;
const MAX_SEGMENTS = 1000;
beforeAll(async () => {
  grid = await startAdminGrid({ servers: 3, helper: { limits: { maxSegments: MAX_SEGMENTS, maxLiveFeeds: 1 } } });
  f = await prepare(randomBytes(100_000));
});
afterAll(() => grid.close());

const auth = { authorization: `Bearer ${CLIENT_TOKEN}` };
const api = () => request(grid.helper.url);
const sis = Array.from({ length: 8 }, () => formatStorageIndex(randomBytes(16)));
const si = (i: number) => sis[i];
const hashesOf = (segments: number) => randomBytes(segments * 32).toString('base64');

describe('a job’s lastError as a client sees it', () => {
  it('names no storage-server URL (the admin view keeps it)', async () => {
    expect((await api().post('/helper/v1/check').set(auth).send(checkBody(f, 3))).body.status).toBe('send');
    const url = grid.storage[0]!.url;
    await grid.helper.helper.jobs.setState(f.si, 'failed', { lastError: `storage server ${url}/storage/v1/x answered 500: disk full; ${url} again` });

    const view = await api().get(`/helper/v1/jobs/${f.si}`).set(auth);
    expect(view.body.lastError).toBe('storage server a storage server answered 500: disk full; a storage server again');
    const answer = await api().post('/helper/v1/check').set(auth).send(checkBody(f, 3));
    expect(answer.body).toMatchObject({ status: 'in-progress', state: 'failed' });
    expect(answer.body.lastError).not.toContain('127.0.0.1');

    const admin = await fetch(`${grid.adminUrl}/admin/api/v1/jobs/${f.si}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(((await admin.json()) as { lastError: string }).lastError).toContain(url);
  });
});

describe('checks that would make the helper hash for seconds are refused before any hashing', () => {
  it('refuses tiny segments for a file larger than limits.minSegmentSize (the client’s small files still pass)', async () => {
    const size = 1_000_000;
    const segments = fileGeometry(size, { k: 3, n: 10, maxSegmentSize: 1024 }).numSegments; // 975: within limits.maxSegments
    const res = await api().post('/helper/v1/check').set(auth).send({ storageIndex: si(1), size, k: 3, n: 10, happy: 3, maxSegmentSize: 1024, segmentHashes: hashesOf(segments) });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('INVALID_PARAMETERS');
    expect(res.body.message).toMatch(/minimum of 65536 bytes/);
    expect((await api().get(`/helper/v1/jobs/${si(1)}`).set(auth)).status).toBe(404);
    // A file smaller than the minimum may use any segment size (one of the test vectors: 96-byte segments).
    const small = await api().post('/helper/v1/check').set(auth).send({ storageIndex: si(2), size: 30_000, k: 3, n: 10, happy: 3, maxSegmentSize: 96, segmentHashes: hashesOf(313) });
    expect(small.body.status).toBe('send');
  });

  it('refuses more than limits.maxSegments segments, and a body larger than their hashes with 413', async () => {
    const size = (MAX_SEGMENTS + 1) * 1024 * 1024;
    const res = await api().post('/helper/v1/check').set(auth).send({ storageIndex: si(3), size, k: 1, n: 3, happy: 3, maxSegmentSize: 1024 * 1024, segmentHashes: hashesOf(MAX_SEGMENTS + 1) });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/1001 segments exceed this helper's limit of 1000/);
    const big = await api().post('/helper/v1/check').set(auth).send({ storageIndex: si(4), size: 4 * MAX_SEGMENTS * 65536, k: 1, n: 3, happy: 3, maxSegmentSize: 65536, segmentHashes: hashesOf(4 * MAX_SEGMENTS) });
    expect(big.status).toBe(413);
    expect(big.body.error).toBe('PAYLOAD_TOO_LARGE');
  });

  it('builds the hash-tree root of a large check in slices, letting the event loop turn meanwhile', async () => {
    const geometry = fileGeometry(9_000 * 65536 - 5, { k: 1, n: 3, maxSegmentSize: 65536 });
    const hashes = randomBytes(geometry.numSegments * 32);
    const body = { storageIndex: si(5), size: geometry.size, k: 1, n: 3, happy: 3, maxSegmentSize: 65536, segmentHashes: hashes.toString('base64') };
    let turns = 0;
    let done = false;
    const tick = () => {
      if (done) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const valid = await validateCheck(body, { maxFileSize: 2 ** 40, minSegmentSize: 65536, maxSegments: 2 ** 20, maxCodedSegmentBytes: 256 * 1024 * 1024 });
    done = true;
    expect(turns).toBeGreaterThan(1); // other requests were served while it hashed
    expect(valid.crypttextRoot).toBe(new MerkleTree(splitHashes(new Uint8Array(hashes))).root.toString('hex'));
  });
});

describe('the orphan sweep', () => {
  it('skips and reports files it cannot parse, and still removes the orphans', async () => {
    const { files, sweeper } = grid.helper.helper;
    await writeFile(path.join(files.incomingDir, 'notes.txt'), 'hello');
    await writeFile(path.join(files.incomingDir, 'not-a-storage-index.ct'), 'x');
    await mkdir(path.join(files.encodingDir, `${si(6)}.ct`));
    const orphan = si(7);
    await writeFile(files.encodingPath(orphan), 'left behind by a crash');
    for (let round = 0; round < 2; round++) {
      const report = await sweeper.sweep();
      expect(report.strayFiles.sort()).toEqual([path.join('encoding', `${si(6)}.ct`), path.join('incoming', 'not-a-storage-index.ct'), path.join('incoming', 'notes.txt')]);
      expect(report.orphanFiles).toEqual(round === 0 ? [orphan] : []);
    }
    expect(await readdir(files.encodingDir)).not.toContain(`${orphan}.ct`);
  });
});

describe('finished jobs and the holding quota', () => {
  it('forgets done jobs after limits.jobRetention; a later check of the file answers have-it from the grid', async () => {
    const g = await startGrid({ servers: 3, helper: { limits: { jobRetention: 0 } } });
    try {
      const h = new HelperCalls(g.helper.url);
      const file = await prepare(randomBytes(50_000));
      await h.upload(file, 3);
      expect((await h.waitFor(file.si)).state).toBe('done');
      const report = await g.helper.helper.sweeper.sweep();
      expect(report.prunedJobs).toEqual([file.si]);
      expect((await h.job(file.si)).status).toBe(404);
      const again = await h.check(checkBody(file, 3));
      expect(again.json).toMatchObject({ status: 'have-it', happiness: 3 });
      expect((await h.job(file.si)).status).toBe(404); // answered from the grid, no new job
    } finally {
      await g.close();
    }
  });

  it('checks the holding quota against a running total, without reading every job', async () => {
    const g = await startGrid({ servers: 3, helper: { limits: { holdingQuota: 150_000 } } });
    try {
      const h = new HelperCalls(g.helper.url);
      const [a, b, c] = await Promise.all([prepare(randomBytes(100_000)), prepare(randomBytes(40_000)), prepare(randomBytes(20_000))]);
      const list = vi.spyOn(g.helper.helper.jobs, 'list');
      expect((await h.check(checkBody(a, 3))).json.status).toBe('send');
      const refused = await h.check(checkBody(await prepare(randomBytes(60_000)), 3));
      expect(refused.status).toBe(507);
      expect(String(refused.json.message)).toMatch(/100000 of 150000 bytes reserved/);
      expect(list).not.toHaveBeenCalled();
      // A finished upload gives its reservation back.
      await h.upload(b, 3);
      expect((await h.waitFor(b.si)).state).toBe('done');
      await h.upload(c, 3);
      expect((await h.waitFor(c.si)).state).toBe('done');
      expect(String((await h.check(checkBody(await prepare(randomBytes(60_000)), 3))).json.message)).toMatch(/100000 of 150000 bytes reserved/);
    } finally {
      await g.close();
    }
  });
});

describe('connection limits', () => {
  const adminApi = '/admin/api/v1';
  const ticket = async () => ((await (await fetch(`${grid.adminUrl}${adminApi}/ticket`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as { ticket: string }).ticket;

  it('refuses live-feed streams beyond limits.maxLiveFeeds with 503 and Retry-After, keeping the ticket', async () => {
    const first = new AbortController();
    const open = await fetch(`${grid.adminUrl}${adminApi}/events?ticket=${await ticket()}`, { signal: first.signal });
    expect(open.status).toBe(200);
    const second = await ticket();
    const refused = await fetch(`${grid.adminUrl}${adminApi}/events?ticket=${second}`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('10');
    expect(((await refused.json()) as { error: string }).error).toBe('UNAVAILABLE');
    first.abort();
    await open.body?.cancel().catch(() => undefined);
    // Once the first stream is gone the same ticket opens one (the server notices the close shortly).
    let status = 0;
    for (let i = 0; i < 200 && status !== 200; i++) {
      const res = await fetch(`${grid.adminUrl}${adminApi}/events?ticket=${second}`, { signal: AbortSignal.timeout(5_000) });
      status = res.status;
      await res.body?.cancel().catch(() => undefined);
      if (status !== 200) await new Promise((r) => setTimeout(r, 10));
    }
    expect(status).toBe(200);
  });

  it('closes connections beyond limits.maxConnections as they arrive', async () => {
    const g = await startGrid({ servers: 1, helper: { limits: { maxConnections: 2 } } });
    const sockets: net.Socket[] = [];
    try {
      const { port } = g.helper;
      /** A raw connection; `answer` resolves to the first bytes of an answer, or '' if the server closed it unanswered. */
      const connect = async () => {
        const socket = net.connect(port, '127.0.0.1');
        sockets.push(socket);
        socket.on('error', () => undefined); // a reset of a refused connection is the expected outcome
        let got = '';
        const answer = new Promise<string>((resolve) => {
          socket.on('data', (chunk: Buffer) => {
            got += chunk.toString();
            if (got.includes('\r\n\r\n')) resolve(got);
          });
          socket.once('close', () => resolve(got));
        });
        await new Promise((resolve) => socket.once('connect', resolve).once('close', resolve));
        return { socket, answer };
      };
      const ask = async (c: { socket: net.Socket; answer: Promise<string> }) => {
        if (!c.socket.destroyed) c.socket.write(`GET /helper/v1/info HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${CLIENT_TOKEN}\r\n\r\n`);
        return c.answer;
      };
      const [a, b] = [await connect(), await connect()];
      expect(await ask(a)).toMatch(/^HTTP\/1.1 200/);
      expect(await ask(b)).toMatch(/^HTTP\/1.1 200/);
      expect(await ask(await connect())).toBe(''); // the third is closed unanswered
    } finally {
      for (const s of sockets) s.destroy();
      await g.close();
    }
  });

  it('runs at most limits.maxConcurrentVerifies check-file --verify at once; the others wait their turn', async () => {
    const g = await startGrid({ servers: 7, helper: { limits: { maxConcurrentVerifies: 1 } } });
    try {
      const stored = await putFile(g, randomBytes(100_000));
      const r = new RepairCalls(g.helper.url);
      const reports = await Promise.all([0, 1, 2].map(() => r.checkFile({ cap: stored.cap, verify: true })));
      for (const report of reports) expect(report.json).toMatchObject({ verified: 'full', healthy: true });
      expect(g.helper.helper.repairs.verifySlots.peak).toBe(1);
    } finally {
      await g.close();
    }
  });

  it('a verification whose client went away while it waited leaves the line', async () => {
    const slots = new VerifySlots(1);
    let release!: () => void;
    const first = slots.run(() => new Promise<string>((resolve) => (release = () => resolve('first'))));
    const gone = new AbortController();
    const second = slots.run(async () => 'second', gone.signal);
    const third = slots.run(async () => 'third');
    expect(slots.queued).toBe(2);
    gone.abort();
    await expect(second).rejects.toMatchObject({ code: 'ABORTED' });
    expect(slots.queued).toBe(1);
    release();
    expect(await Promise.all([first, third])).toEqual(['first', 'third']);
    expect(slots.peak).toBe(1);
  });
});
