/**
 * Over HTTP, on a real grid: If-Range combined with a multipart Range, and the
 * limit on parts (MAX_PARTS = 32; one more gets the whole file). Every answer's
 * bytes are checked against the file.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseByteranges, wrongBytes } from '../../support/byteranges.js';
import { putFile, type StoredFile } from '../../support/gateway-fixture.js';
import { startGrid, type TestGrid } from '../../support/grid.js';

let grid: TestGrid | undefined;
let file: StoredFile;
let url: string;
let etag: string;

beforeAll(async () => {
  grid = await startGrid();
  file = await putFile(grid, randomBytes(300_001));
  url = `${grid.helper.url}/uri/${file.cap}`;
  etag = (await fetch(url, { method: 'HEAD' })).headers.get('etag')!;
});
afterAll(async () => grid?.close());

async function get(headers: Record<string, string>) {
  const res = await fetch(url, { headers });
  const body = Buffer.from(await res.arrayBuffer());
  const answer = { status: res.status, contentType: res.headers.get('content-type') ?? undefined, contentRange: res.headers.get('content-range') ?? undefined, body };
  return { ...answer, wrong: wrongBytes(answer, file.plain) };
}

/** `count` ranges of 10 bytes, 1000 apart: too far apart to be merged into one part. */
const spread = (count: number) => `bytes=${Array.from({ length: count }, (_, i) => `${i * 1000}-${i * 1000 + 9}`).join(',')}`;

describe('gateway: If-Range with multipart, and the parts limit', () => {
  it('gives the parts for a matching If-Range and the whole file for any other', async () => {
    expect(etag).toMatch(/^"[0-9a-f]+"$/);
    const match = await get({ range: 'bytes=0-99,200000-200099,-50', 'if-range': etag });
    expect(match.status).toBe(206);
    expect(match.wrong).toBeUndefined();
    expect(parseByteranges(match.contentType!, match.body, file.plain.length).map((p) => [p.start, p.end])).toEqual([
      [0, 99],
      [200000, 200099],
      [file.plain.length - 50, file.plain.length - 1],
    ]);
    for (const other of [`W/${etag}`, '"0000"', 'Wed, 21 Oct 2015 07:28:00 GMT']) {
      const full = await get({ range: 'bytes=0-99,200000-200099', 'if-range': other });
      expect(full.status, other).toBe(200);
      expect(full.body.equals(file.plain)).toBe(true);
    }
  });

  it('serves up to 32 parts and the whole file past that', async () => {
    const most = await get({ range: spread(32) });
    expect(most.status).toBe(206);
    expect(most.wrong).toBeUndefined();
    expect(parseByteranges(most.contentType!, most.body, file.plain.length)).toHaveLength(32);
    const tooMany = await get({ range: spread(33) });
    expect(tooMany.status).toBe(200);
    expect(tooMany.body.equals(file.plain)).toBe(true);
    // With a matching If-Range the limit still holds.
    expect((await get({ range: spread(33), 'if-range': etag })).status).toBe(200);
  });
});
