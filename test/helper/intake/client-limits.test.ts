/**
 * Limits per client token and on the intake (issue 13, item 10): concurrent
 * uploads and holding bytes per token, PATCHes at once (per upload: tus' lock;
 * over the helper: limits.maxConcurrentPatches), and a holding quota that is
 * never unlimited by default. Each is answered at the edge with a status, a
 * code and (where waiting helps) Retry-After.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientIdOf } from '../../../helper/http/client-auth.js';
import { resolveHoldingLimits } from '../../../helper/intake/holding-quota.js';
import { parseHelperConfig } from '../../../helper/config.js';
import { CLIENT_TOKEN, startGrid, type TestGrid } from '../../support/grid.js';
import { HelperCalls } from '../../support/helper-client.js';
import { download, OTHER_TOKEN, readCapOf } from '../../support/hostile.js';
import { checkBody, prepare, type PreparedFile } from '../../support/prepare.js';

const PARAMS = { k: 2, n: 4, maxSegmentSize: 65536 };
const HAPPY = 3;
const file = (size: number) => prepare(randomBytes(size), PARAMS);

async function checkRaw(calls: HelperCalls, f: PreparedFile): Promise<{ status: number; retryAfter: string | null; json: Record<string, unknown> }> {
  const res = await fetch(`${calls.url}/helper/v1/check`, {
    method: 'POST',
    headers: { authorization: `Bearer ${calls.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(checkBody(f, HAPPY)),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), json: (await res.json()) as Record<string, unknown> };
}

/** A PATCH whose body is sent in two parts: `first`, then the rest when the caller says so. */
function slowPatch(url: string, token: string, si: string, offset: number, body: Buffer, first: number) {
  let sendRest!: () => void;
  const done = new Promise<{ status: number; offset: number }>((resolve) => {
    const req = http.request(`${url}/helper/v1/uploads/${si}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'tus-resumable': '1.0.0', 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream', 'content-length': String(body.length) },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, offset: Number(res.headers['upload-offset'] ?? -1) }));
    });
    req.on('error', () => resolve({ status: 0, offset: -1 })); // cut by the helper
    req.write(body.subarray(0, first));
    sendRest = () => req.end(body.subarray(first));
  });
  return { done, sendRest: () => sendRest() };
}

describe('per-token limits', () => {
  let grid: TestGrid;
  let a: HelperCalls;
  let b: HelperCalls;
  beforeAll(async () => {
    grid = await startGrid({ servers: 4, helper: { clientTokens: [CLIENT_TOKEN, OTHER_TOKEN], limits: { maxUploadsPerToken: 2, holdingPerToken: 300_000, holdingQuota: 10_000_000 } } });
    a = new HelperCalls(grid.helper.url, CLIENT_TOKEN);
    b = new HelperCalls(grid.helper.url, OTHER_TOKEN);
  });
  afterAll(async () => grid?.close());

  it('a token with limits.maxUploadsPerToken uploads receiving gets 429 TOO_MANY_REQUESTS with Retry-After; others do not, sharing does not count, a finished upload frees its place', async () => {
    const [f1, f2, f3, g1] = await Promise.all([file(1000), file(1001), file(1002), file(1003)]);
    expect((await checkRaw(a, f1)).json.status).toBe('send');
    expect((await checkRaw(a, f2)).json.status).toBe('send');
    const third = await checkRaw(a, f3);
    expect(third.status).toBe(429);
    expect(third.json).toMatchObject({ error: 'TOO_MANY_REQUESTS', limit: 'maxUploadsPerToken' });
    expect(third.retryAfter).toBe('30');
    expect((await a.job(f3.si)).status).toBe(404); // nothing recorded

    // Another token has its own count, and may share a's upload (same hashes) without it counting against either.
    expect((await checkRaw(b, g1)).json.status).toBe('send');
    expect((await checkRaw(b, f1)).json.status).toBe('send');
    // a's own check of an upload it already has is no new upload.
    expect((await checkRaw(a, f1)).json.status).toBe('send');

    expect((await a.patch(f1.si, 0, f1.ciphertext)).status).toBe(204);
    await a.waitFor(f1.si);
    expect((await checkRaw(a, f3)).json.status).toBe('send');
  });

  it('bytes beyond limits.holdingPerToken: 507 QUOTA_EXCEEDED with Retry-After; a file that could never fit: 413; another token is unaffected', async () => {
    // a's receiving uploads from the test above are terminated: their count and bytes are free again.
    for (const si of await receivingOf(grid, a)) expect((await tus(a, 'DELETE', si)).status).toBe(204);
    const [big, more, huge, other] = await Promise.all([file(250_000), file(250_001), file(300_001), file(250_002)]);
    expect((await checkRaw(a, big)).json.status).toBe('send');
    const never = await checkRaw(a, huge);
    expect(never.status).toBe(413);
    expect(never.json).toMatchObject({ error: 'PAYLOAD_TOO_LARGE', limit: 'holdingPerToken' });
    const over = await checkRaw(a, more);
    expect(over.status).toBe(507);
    expect(over.json).toMatchObject({ error: 'QUOTA_EXCEEDED', limit: 'holdingPerToken' });
    expect(over.retryAfter).toBe('60');
    expect((await checkRaw(b, other)).json.status).toBe('send');

    expect((await a.patch(big.si, 0, big.ciphertext)).status).toBe(204);
    await a.waitFor(big.si);
    expect((await checkRaw(a, more)).json.status).toBe('send');
  });
});

/** Storage indexes of the receiving uploads `calls`' token created. */
async function receivingOf(grid: TestGrid, calls: HelperCalls): Promise<string[]> {
  const jobs = await grid.helper.helper.jobs.list((j) => j.state === 'receiving' && j.owner === clientIdOf(calls.token));
  return jobs.map((j) => j.si);
}

/**
 * Polls the job (not HEAD: a HEAD takes the upload's tus lock too, and so
 * ends a PATCH in flight) until `bytes` are received.
 */
async function receivedAtLeast(calls: HelperCalls, si: string, bytes: number): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (Number((await calls.job(si)).json.received) >= bytes) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`upload ${si} never reached ${bytes} bytes`);
}

function tus(calls: HelperCalls, method: string, si: string): Promise<Response> {
  return fetch(`${calls.url}/helper/v1/uploads/${si}`, { method, headers: { authorization: `Bearer ${calls.token}`, 'tus-resumable': '1.0.0' } });
}

describe('PATCHes at once', () => {
  let grid: TestGrid;
  let a: HelperCalls;
  beforeAll(async () => {
    grid = await startGrid({ servers: 4, helper: { limits: { maxConcurrentPatches: 1, commitEvery: 1 } } });
    a = new HelperCalls(grid.helper.url, CLIENT_TOKEN);
  });
  afterAll(async () => grid?.close());

  it('one more PATCH than limits.maxConcurrentPatches gets 503 UNAVAILABLE with Retry-After; after the first ends it is taken', async () => {
    const [f, g] = await Promise.all([file(400_000), file(100_000)]);
    expect((await checkRaw(a, f)).json.status).toBe('send');
    expect((await checkRaw(a, g)).json.status).toBe('send');
    const seg = f.geometry.segmentSize;
    const slow = slowPatch(grid.helper.url, CLIENT_TOKEN, f.si, 0, f.ciphertext, 4 * seg + 10);
    // The first PATCH holds the only slot: its first segment is committed (the writer settles one once 4 are in flight), the rest not yet sent.
    await receivedAtLeast(a, f.si, seg);
    const refused = await fetch(`${grid.helper.url}/helper/v1/uploads/${g.si}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${CLIENT_TOKEN}`, 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' },
      body: g.ciphertext,
    });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: 'UNAVAILABLE', limit: 'maxConcurrentPatches' });
    expect(refused.headers.get('retry-after')).toBe('5');
    slow.sendRest();
    expect((await slow.done).status).toBe(204);
    expect((await a.patch(g.si, 0, g.ciphertext)).status).toBe(204);
  });
});

describe('one PATCH at a time per upload', () => {
  let grid: TestGrid;
  let a: HelperCalls;
  beforeAll(async () => {
    grid = await startGrid({ servers: 4, helper: { limits: { commitEvery: 1 } } }); // every segment committed: progress shows in the job
    a = new HelperCalls(grid.helper.url, CLIENT_TOKEN);
  });
  afterAll(async () => grid?.close());

  it('a second PATCH of the same upload ends the first before it writes; the file is whole and downloads byte for byte', async () => {
    const plaintext = randomBytes(400_000);
    const f = await prepare(plaintext, PARAMS);
    expect((await checkRaw(a, f)).json.status).toBe('send');
    const seg = f.geometry.segmentSize;
    const first = slowPatch(grid.helper.url, CLIENT_TOKEN, f.si, 0, f.ciphertext, 4 * seg + 10);
    // Wait until the first PATCH's first segment is committed (4 in flight settle one): it is then writing.
    await receivedAtLeast(a, f.si, seg);
    // The second PATCH takes the upload's lock: the first is answered (with what it stored) although
    // its body is not complete, before the second writes a byte: never two writers on one spool.
    const second = a.patch(f.si, 4 * seg, f.ciphertext.subarray(4 * seg));
    const firstEnd = await first.done;
    expect(firstEnd.status).toBe(204);
    expect(firstEnd.offset).toBeGreaterThanOrEqual(seg);
    expect(firstEnd.offset).toBeLessThanOrEqual(4 * seg);
    first.sendRest(); // too late: its request is over
    const secondEnd = await second;
    if (secondEnd.status !== 204) {
      // The first had committed less than the second assumed: 409, and the client resumes where HEAD says.
      expect(secondEnd.status).toBe(409);
      const at = (await a.head(f.si)).offset;
      expect(at).toBe(firstEnd.offset);
      expect((await a.patch(f.si, at, f.ciphertext.subarray(at))).status).toBe(204);
    }
    const job = await a.waitFor(f.si);
    expect(job.state).toBe('done');
    const got = await download(grid.helper.url, readCapOf(f, (job.result as { uebHash: string }).uebHash));
    expect(got.body.equals(plaintext)).toBe(true);
  });
});

describe('the holding quota by default', () => {
  const base = { dataDir: 'd', clientTokens: ['a-client-token-0123456789'] };

  it('is limits.holdingQuotaFraction of the holding dir’s free disk at start; the config overrides it; 0 stays no quota', async () => {
    const free = async () => 1_000_000;
    expect((await resolveHoldingLimits(parseHelperConfig(base), 'd', free)).limits).toMatchObject({ holdingQuota: 500_000, holdingPerToken: 500_000 });
    const two = parseHelperConfig({ ...base, clientTokens: [...base.clientTokens, 'another-client-token-0123'], limits: { holdingQuotaFraction: 0.2 } });
    expect((await resolveHoldingLimits(two, 'd', free)).limits).toMatchObject({ holdingQuota: 200_000, holdingPerToken: 100_000 });
    const set = parseHelperConfig({ ...base, limits: { holdingQuota: '1MiB', holdingPerToken: 0 } });
    expect((await resolveHoldingLimits(set, 'd', free)).limits).toMatchObject({ holdingQuota: 1024 * 1024, holdingPerToken: 0 });
    expect((await resolveHoldingLimits(parseHelperConfig({ ...base, limits: { holdingQuota: 0 } }), 'd', free)).limits.holdingQuota).toBe(0);
  });

  it('a helper started without holdingQuota refuses a file beyond that share of its free disk with 507', async () => {
    const grid = await startGrid({ servers: 3, helper: { limits: { holdingQuotaFraction: 1e-15, holdingPerToken: 0 } } });
    try {
      const q = grid.helper.helper.config.limits.holdingQuota;
      expect(q).toBeGreaterThan(0);
      const f = await file(q + 1);
      const res = await checkRaw(new HelperCalls(grid.helper.url, CLIENT_TOKEN), f);
      expect(res.status).toBe(507);
      expect(res.json).toMatchObject({ error: 'QUOTA_EXCEEDED', limit: 'holdingQuota' });
    } finally {
      await grid.close();
    }
  });
});
