/**
 * The gateway's HTTP behaviour against a real grid: ranges (property-tested
 * against plaintext slices), HEAD, 416, If-Range, If-None-Match, multipart,
 * Content-Disposition, error statuses, and that only the overlapping segments
 * are read from storage.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etagOf, formatReadCap, formatVerifyCap, parseReadCap, verifyCapOf } from '../../../core/capability.js';
import { NODE_CACHE } from '../../../helper/gateway/tree-nodes.js';
import { startGrid, type TestGrid } from '../../support/grid.js';
import { putFile, type StoredFile } from '../../support/gateway-fixture.js';

let grid: TestGrid;
let file: StoredFile;
let empty: StoredFile;
let url: string;
const SIZE = 1_000_003; // 16 segments of 65538 bytes (k = 3, max 64 KiB) and a short tail

beforeAll(async () => {
  grid = await startGrid();
  file = await putFile(grid, randomBytes(SIZE));
  empty = await putFile(grid, Buffer.alloc(0));
  url = `${grid.helper.url}/uri/${file.cap}`;
});
afterAll(async () => grid?.close());

async function get(target: string, headers: Record<string, string> = {}, method = 'GET') {
  const res = await fetch(target, { method, headers });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

/** Splits a multipart/byteranges body into its parts. */
function parseMultipart(contentType: string, body: Buffer): { range: string; data: Buffer }[] {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1];
  if (!boundary) throw new Error(`no boundary in ${contentType}`);
  const parts: { range: string; data: Buffer }[] = [];
  const delim = Buffer.from(`--${boundary}`);
  let pos = body.indexOf(delim);
  for (;;) {
    const after = pos + delim.length;
    if (body.subarray(after, after + 2).toString() === '--') break;
    const headerEnd = body.indexOf('\r\n\r\n', after);
    const headers = body.subarray(after + 2, headerEnd).toString('latin1');
    const range = /Content-Range: (.*)/i.exec(headers)![1].trim();
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), headerEnd + 4);
    parts.push({ range, data: body.subarray(headerEnd + 4, next) });
    pos = next + 2;
  }
  return parts;
}

describe('gateway: GET and HEAD /uri/<read-cap>', () => {
  it('serves the whole file with validators and no token', async () => {
    const res = await get(url);
    expect(res.status).toBe(200);
    expect(res.body.equals(file.plain)).toBe(true);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('content-length')).toBe(String(SIZE));
    expect(res.headers.get('etag')).toBe(etagOf(verifyCapOf(parseReadCap(file.cap))));
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-disposition')).toBeNull();
  });

  it('random single ranges (first-last, open-ended, suffix) equal the plaintext slices', async () => {
    const spec = fc.oneof(
      fc.record({ kind: fc.constant('int' as const), first: fc.integer({ min: 0, max: SIZE + 50 }), len: fc.integer({ min: 1, max: 200_000 }) }),
      fc.record({ kind: fc.constant('open' as const), first: fc.integer({ min: 0, max: SIZE + 50 }) }),
      fc.record({ kind: fc.constant('suffix' as const), n: fc.integer({ min: 1, max: SIZE + 50 }) }),
    );
    await fc.assert(
      fc.asyncProperty(spec, async (s) => {
        let header: string;
        let start: number;
        let end: number;
        if (s.kind === 'int') {
          header = `bytes=${s.first}-${s.first + s.len - 1}`;
          [start, end] = [s.first, Math.min(SIZE, s.first + s.len)];
        } else if (s.kind === 'open') {
          header = `bytes=${s.first}-`;
          [start, end] = [s.first, SIZE];
        } else {
          header = `bytes=-${s.n}`;
          [start, end] = [Math.max(0, SIZE - s.n), SIZE];
        }
        const res = await get(url, { range: header });
        if (start >= SIZE) {
          expect(res.status).toBe(416);
          expect(res.headers.get('content-range')).toBe(`bytes */${SIZE}`);
          return;
        }
        expect(res.status, header).toBe(206);
        expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end - 1}/${SIZE}`);
        expect(res.headers.get('content-length')).toBe(String(end - start));
        expect(res.body.equals(file.plain.subarray(start, end)), header).toBe(true);
      }),
      { numRuns: 40 },
    );
    for (let t = 0; t < 100 && !grid.helper.helper.gateway.stats.idle; t++) await new Promise((r) => setTimeout(r, 20));
    expect(grid.helper.helper.gateway.stats.idle).toBe(true);
  });

  it('answers several ranges with multipart/byteranges, parts in ascending order, overlaps merged', async () => {
    const res = await get(url, { range: 'bytes=900000-900099, 0-9, 5-19, 500000-, -3' });
    expect(res.status).toBe(206);
    const type = res.headers.get('content-type')!;
    expect(type).toMatch(/^multipart\/byteranges; boundary=/);
    expect(Number(res.headers.get('content-length'))).toBe(res.body.length);
    const parts = parseMultipart(type, res.body);
    expect(parts.map((p) => p.range)).toEqual([`bytes 0-19/${SIZE}`, `bytes 500000-${SIZE - 1}/${SIZE}`]);
    expect(parts[0].data.equals(file.plain.subarray(0, 20))).toBe(true);
    expect(parts[1].data.equals(file.plain.subarray(500000))).toBe(true);

    const many = await get(url, { range: 'bytes=10-19,100000-100009,700000-700009' });
    const p = parseMultipart(many.headers.get('content-type')!, many.body);
    expect(p.map((x) => x.data)).toEqual([10, 100000, 700000].map((s) => file.plain.subarray(s, s + 10)));
    // Same length on HEAD (the boundary has a fixed length).
    const head = await get(url, { range: 'bytes=10-19,100000-100009,700000-700009' }, 'HEAD');
    expect(head.headers.get('content-length')).toBe(String(many.body.length));
  });

  it('HEAD: the same headers, no body; with a Range, the 206 headers', async () => {
    const head = await get(url, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers.get('content-length')).toBe(String(SIZE));
    expect(head.headers.get('accept-ranges')).toBe('bytes');
    expect(head.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);
    const ranged = await get(url, { range: 'bytes=10-' }, 'HEAD');
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes 10-${SIZE - 1}/${SIZE}`);
    expect(ranged.headers.get('content-length')).toBe(String(SIZE - 10));
  });

  it('416 with Content-Range: bytes */SIZE for unsatisfiable or malformed byte ranges; other units are ignored', async () => {
    for (const range of [`bytes=${SIZE}-`, `bytes=${SIZE + 10}-${SIZE + 20}`, 'bytes=-0', 'bytes=5-2', 'bytes=abc']) {
      const res = await get(url, { range });
      expect(res.status, range).toBe(416);
      expect(res.headers.get('content-range')).toBe(`bytes */${SIZE}`);
      expect(JSON.parse(res.body.toString())).toMatchObject({ error: 'RANGE_NOT_SATISFIABLE' });
    }
    const other = await get(url, { range: 'items=0-5' });
    expect(other.status).toBe(200);
    expect(other.body.length).toBe(SIZE);
    const none = await get(`${grid.helper.url}/uri/${empty.cap}`, { range: 'bytes=0-' });
    expect(none.status).toBe(416);
    expect(none.headers.get('content-range')).toBe('bytes */0');
    const whole = await get(`${grid.helper.url}/uri/${empty.cap}`);
    expect(whole.status).toBe(200);
    expect(whole.body.length).toBe(0);
  });

  it('honours If-Range: the matching strong ETag gives the range, anything else the whole file', async () => {
    const etag = etagOf(verifyCapOf(parseReadCap(file.cap)));
    const match = await get(url, { range: 'bytes=100-199', 'if-range': etag });
    expect(match.status).toBe(206);
    expect(match.body.equals(file.plain.subarray(100, 200))).toBe(true);
    for (const ifRange of ['"0123456789abcdef0123456789abcdef"', `W/${etag}`, new Date().toUTCString(), 'Thu, 01 Jan 1970 00:00:00 GMT']) {
      const res = await get(url, { range: 'bytes=100-199', 'if-range': ifRange });
      expect(res.status, ifRange).toBe(200);
      expect(res.body.equals(file.plain)).toBe(true);
    }
    const cached = await get(url, { 'if-none-match': `"other", ${etag}` });
    expect(cached.status).toBe(304);
    expect(cached.body.length).toBe(0);
  });

  it('adds Content-Disposition for ?filename= and /uri/<cap>/<name>, safely encoded', async () => {
    const a = await get(`${url}?filename=${encodeURIComponent('résumé "final".pdf')}`, {}, 'HEAD');
    expect(a.headers.get('content-disposition')).toBe(`attachment; filename="r_sum_ _final_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.pdf`);
    const b = await get(`${url}/report.txt`, { range: 'bytes=0-9' });
    expect(b.status).toBe(206);
    expect(b.headers.get('content-disposition')).toBe(`attachment; filename="report.txt"; filename*=UTF-8''report.txt`);
    expect(b.body.equals(file.plain.subarray(0, 10))).toBe(true);
    const c = await get(`${url}?filename=${encodeURIComponent('../../etc/passwd')}`, {}, 'HEAD');
    expect(c.headers.get('content-disposition')).toBe(`attachment; filename="passwd"; filename*=UTF-8''passwd`);
  });

  it('errors: malformed cap 400, verify-cap 400, unknown file 404, other methods 405 — as JSON', async () => {
    const bad = await get(`${grid.helper.url}/uri/ferry-chk:nope`);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body.toString())).toMatchObject({ error: 'INVALID_CAPABILITY' });
    const vc = await get(`${grid.helper.url}/uri/${formatVerifyCap(verifyCapOf(parseReadCap(file.cap)))}`);
    expect(vc.status).toBe(400);
    const rc = parseReadCap(file.cap);
    const unknown = await get(`${grid.helper.url}/uri/${formatReadCap({ ...rc, key: randomBytes(32) })}`);
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body.toString())).toMatchObject({ error: 'NOT_FOUND' });
    // Right storage index, wrong UEB hash: no share matches, nothing is reported as corrupt.
    const wrongHash = await get(`${grid.helper.url}/uri/${formatReadCap({ ...rc, uebHash: randomBytes(32) })}`);
    expect(wrongHash.status).toBe(404);
    expect(grid.helper.helper.gateway.stats.corruptionReports).toBe(0);
    // Right UEB, but the capability lies about the size.
    const wrongSize = await get(`${grid.helper.url}/uri/${formatReadCap({ ...rc, size: rc.size + 1 })}`);
    expect(wrongSize.status).toBe(400);
    const post = await fetch(url, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('many small segments with small hash-node caches: nodes are forgotten and fetched again, bytes stay right', async () => {
    const limit = NODE_CACHE.limit;
    NODE_CACHE.limit = 200; // a tree of this file has 1023 nodes
    try {
      const small = await putFile(grid, randomBytes(30_000), { k: 3, n: 10, maxSegmentSize: 96 }); // 313 segments
      const res = await get(`${grid.helper.url}/uri/${small.cap}`);
      expect(res.status).toBe(200);
      expect(res.body.equals(small.plain)).toBe(true);
      const tail = await get(`${grid.helper.url}/uri/${small.cap}`, { range: 'bytes=-1000' });
      expect(tail.body.equals(small.plain.subarray(-1000))).toBe(true);
      expect(grid.helper.helper.gateway.stats.shareFailures).toBe(0);
    } finally {
      NODE_CACHE.limit = limit;
    }
  });

  it('reads from storage only the segments a range overlaps', async () => {
    const gw = grid.helper.helper.gateway;
    await get(url, { range: 'bytes=0-0' }); // warm: shares located, UEB and share roots verified
    const segment = file.f.geometry.segmentSize;
    for (const [start, end] of [
      [3 * segment + 10, 3 * segment + 20],
      [5 * segment - 100, 5 * segment + 100],
    ]) {
      const before = gw.stats.bytesFromStorage;
      const res = await get(url, { range: `bytes=${start}-${end - 1}` });
      expect(res.body.equals(file.plain.subarray(start, end))).toBe(true);
      const segments = Math.floor((end - 1) / segment) - Math.floor(start / segment) + 1;
      const read = gw.stats.bytesFromStorage - before;
      expect(read).toBeGreaterThanOrEqual(segments * segment);
      expect(read).toBeLessThan(segments * segment * 1.05);
    }
  });

  it('a full download reads the blocks of each share in a few long range requests, not one per segment; read-ahead 0: one per block', async () => {
    const gw = grid.helper.helper.gateway;
    await get(url, { range: 'bytes=0-0' }); // warm: shares located, UEB, share roots and the first proofs fetched
    const requests = async (readAheadBytes: number) => {
      const saved = gw.settings.readAheadBytes;
      gw.settings.readAheadBytes = readAheadBytes;
      try {
        const before = gw.stats.shareReads;
        const res = await get(url);
        expect(res.body.equals(file.plain)).toBe(true);
        return gw.stats.shareReads - before;
      } finally {
        gw.settings.readAheadBytes = saved;
      }
    };
    const segments = file.f.geometry.numSegments; // 16, all within the default read-ahead
    expect(await requests(0)).toBeGreaterThanOrEqual(3 * segments);
    // Runs of 2 blocks (two runs per share at a time): each share is asked once per 2 segments.
    expect(await requests(2 * 2 * 3 * file.f.geometry.blockSize)).toBeLessThanOrEqual(3 * (segments / 2) + 8);
    expect(await requests(gw.settings.readAheadBytes)).toBeLessThan(segments);
    expect(gw.stats.shareFailures).toBe(0);
  });

  it('the blocks read ahead never exceed readAheadBytes, one request per share per run of blocks', async () => {
    const gw = grid.helper.helper.gateway;
    await get(url, { range: 'bytes=0-0' }); // warm, as above: what follows counts block requests only
    const blockSize = file.f.geometry.blockSize;
    const segments = file.f.geometry.numSegments;
    const saved = gw.settings.readAheadBytes;
    try {
      // Budgets of 9 blocks (runs of 2 per share), 5 (runs of 1) and one not a multiple of a block.
      for (const budget of [9 * blockSize, 5 * blockSize, 7 * blockSize + blockSize / 2]) {
        gw.settings.readAheadBytes = budget;
        gw.stats.readAheadBytesPeak = 0;
        const before = gw.stats.shareReads;
        const res = await get(url);
        expect(res.body.equals(file.plain)).toBe(true);
        expect(gw.stats.readAheadBytesPeak).toBeGreaterThan(0);
        expect(gw.stats.readAheadBytesPeak).toBeLessThanOrEqual(budget);
        const runLength = Math.max(1, Math.floor(budget / (1.5 * 3 * blockSize)));
        // 3 shares, each read in runs; proof windows reach the end of this small file already.
        expect(gw.stats.shareReads - before).toBeLessThanOrEqual(3 * Math.ceil(segments / runLength) + 3);
      }
    } finally {
      gw.settings.readAheadBytes = saved;
    }
    expect(gw.stats.shareFailures).toBe(0);
  });

  it('shares in use are kept unless an unused one answers far sooner (jitter does not swap them)', async () => {
    const gw = grid.helper.helper.gateway;
    const ctx = await gw.open(verifyCapOf(parseReadCap(file.cap)));
    const copy = (shnum: number) => ctx.readers.find((r) => r.shnum === shnum)!;
    const inUse = [copy(0), copy(1), copy(2)];
    const spare = copy(3);
    expect(new Set([...inUse, spare].map((r) => r.server.id)).size).toBe(4);
    // Latencies by server; every other server (other shares, other copies) far behind.
    const set = (ms: Map<string, number>) => {
      for (const [id, v] of ms) for (let i = 0; i < 30; i++) gw.latency.observe(id, v);
    };
    const at = (pairs: [typeof spare, number][]) => new Map(pairs.map(([r, v]) => [r.server.id, v]));
    try {
      set(new Map(ctx.readers.map((r) => [r.server.id, 500])));
      set(at([...inUse.map((r) => [r, 30] as [typeof spare, number]), [spare, 20]]));
      expect(ctx.notOutpaced(inUse)).toEqual(inUse); // 20 ms vs 30 ms: jitter
      set(at([[inUse[1], 400], [spare, 6]]));
      expect(ctx.notOutpaced(inUse)).toEqual([inUse[0], inUse[2]]); // 6 ms vs 400 ms: swapped (not the two at 30 ms)
      // A secondary in use gives way to an unused primary about as fast (no decoding), not to a far slower one.
      set(at([...inUse.map((r) => [r, 30] as [typeof spare, number]), [spare, 20]]));
      const withSecondary = [inUse[0], inUse[1], spare];
      expect(ctx.notOutpaced(withSecondary)).toEqual([inUse[0], inUse[1]]);
      set(at([[inUse[2], 200]]));
      expect(ctx.notOutpaced(withSecondary)).toEqual(withSecondary);
    } finally {
      set(new Map(ctx.readers.map((r) => [r.server.id, 1])));
    }
  });
});
