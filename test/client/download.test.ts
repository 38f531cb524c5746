/**
 * The client's download(): through the helper's gateway to a file (via
 * FILE.part) or a stream, resumed with Range + If-Range after an abort, a
 * dropped connection or a crash, never mixing two files' bytes.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReadCap, parseReadCap } from '../../core/capability.js';
import { FerryError } from '../../core/errors.js';
import { download } from '../../client/download.js';
import { startDownLink } from '../support/download-link.js';
import { putFile, type StoredFile } from '../support/gateway-fixture.js';
import { startGrid, type TestGrid } from '../support/grid.js';
import { tempDir } from '../support/tmp.js';

let grid: TestGrid;
let file: StoredFile;
let other: StoredFile;
let dir: string;
let cleanup: () => Promise<void>;
const SIZE = 3 * 1024 * 1024 + 12345;

beforeAll(async () => {
  grid = await startGrid();
  file = await putFile(grid, randomBytes(SIZE));
  other = await putFile(grid, randomBytes(SIZE));
  ({ dir, cleanup } = await tempDir('ferry-download-'));
});
afterAll(async () => {
  await grid?.close();
  await cleanup?.();
});

const served = () => grid.helper.helper.gateway.stats.bytesServed;

describe('download()', () => {
  it('writes the file through FILE.part and reports progress', async () => {
    const dest = path.join(dir, 'plain.bin');
    const seen: number[] = [];
    const r = await download(file.cap, dest, { helperUrl: grid.helper.url, onProgress: (p) => seen.push(p.bytes) });
    expect(r).toMatchObject({ bytes: SIZE, resumedFrom: 0, requests: 1 });
    expect((await readFile(dest)).equals(file.plain)).toBe(true);
    expect(existsSync(`${dest}.part`)).toBe(false);
    expect(existsSync(`${dest}.part.json`)).toBe(false);
    expect(seen.at(-1)).toBe(SIZE);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it('an aborted download keeps FILE.part; the next run sends Range + If-Range and fetches only the rest', async () => {
    const dest = path.join(dir, 'resumed.bin');
    const ac = new AbortController();
    const err = await download(file.cap, dest, {
      helperUrl: grid.helper.url,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.bytes >= SIZE / 3) ac.abort();
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).code).toBe('ABORTED');
    expect(existsSync(dest)).toBe(false);
    const kept = (await stat(`${dest}.part`)).size;
    expect(kept).toBeGreaterThanOrEqual(SIZE / 3);
    expect(kept).toBeLessThan(SIZE);
    expect((await readFile(`${dest}.part`)).equals(file.plain.subarray(0, kept))).toBe(true);

    const before = served();
    const r = await download(file.cap, dest, { helperUrl: grid.helper.url });
    expect(r.resumedFrom).toBe(kept);
    expect(r.requests).toBe(1);
    expect(served() - before).toBe(SIZE - kept);
    expect((await readFile(dest)).equals(file.plain)).toBe(true);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it('connections dropped mid-body are resumed in the same call', async () => {
    const link = await startDownLink(grid.helper.url);
    try {
      link.cutNext(700_000, 3);
      const dest = path.join(dir, 'flaky.bin');
      const retries: string[] = [];
      const r = await download(file.cap, dest, { helperUrl: link.url, retry: { baseMs: 10, maxMs: 50 }, onRetry: (e) => retries.push(e.code) });
      expect(link.cuts).toBe(3);
      expect(r.requests).toBe(4);
      expect(retries).toHaveLength(3);
      expect((await readFile(dest)).equals(file.plain)).toBe(true);
      // Each byte crossed the link about once: the resumptions did not start over (that would add at least
      // 700 KB per cut). What a cut can waste is what sat in the socket buffers when the link reset: < 128 KiB per cut.
      expect(link.bytesDown).toBeLessThan(SIZE + link.cuts * 128 * 1024);

      // The same to a stream.
      link.cutNext(500_000, 2);
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (c: Buffer) => chunks.push(c));
      const s = await download(file.cap, out, { helperUrl: link.url, retry: { baseMs: 10, maxMs: 50 } });
      expect(s.requests).toBe(3);
      expect(Buffer.concat(chunks).equals(file.plain)).toBe(true);
    } finally {
      await link.close();
    }
  });

  it("a FILE.part of another file (or of unknown origin) is not appended to: the download starts over", async () => {
    const dest = path.join(dir, 'mixed.bin');
    const ac = new AbortController();
    await download(other.cap, dest, { helperUrl: grid.helper.url, signal: ac.signal, onProgress: (p) => p.bytes > SIZE / 2 && ac.abort() }).catch(() => undefined);
    expect(existsSync(`${dest}.part`)).toBe(true);
    const r = await download(file.cap, dest, { helperUrl: grid.helper.url });
    expect(r.resumedFrom).toBe(0);
    expect((await readFile(dest)).equals(file.plain)).toBe(true);

    // A .part without its record (a crash before the first checkpoint, another program): start over too.
    const dest2 = path.join(dir, 'orphan.bin');
    await writeFile(`${dest2}.part`, randomBytes(1000));
    const r2 = await download(file.cap, dest2, { helperUrl: grid.helper.url });
    expect(r2.resumedFrom).toBe(0);
    expect((await readFile(dest2)).equals(file.plain)).toBe(true);
  });

  it('a complete FILE.part left before the rename is finished with one 416 round trip', async () => {
    const dest = path.join(dir, 'almost.bin');
    const ac = new AbortController();
    await download(file.cap, dest, { helperUrl: grid.helper.url, signal: ac.signal, onProgress: (p) => p.bytes > 100_000 && ac.abort() }).catch(() => undefined);
    // Complete the part by hand, as if the last write happened just before a crash.
    await writeFile(`${dest}.part`, file.plain);
    const meta = JSON.parse(await readFile(`${dest}.part.json`, 'utf8')) as { durable: number };
    await writeFile(`${dest}.part.json`, JSON.stringify({ ...meta, durable: SIZE }));
    const before = served();
    const r = await download(file.cap, dest, { helperUrl: grid.helper.url });
    expect(r).toMatchObject({ resumedFrom: SIZE, requests: 1 });
    expect(served()).toBe(before);
    expect((await readFile(dest)).equals(file.plain)).toBe(true);
  });

  it('errors: a bad capability fails before any request; an unknown file is 404 and leaves nothing behind', async () => {
    await expect(download('ferry-chk:oops', path.join(dir, 'x'), { helperUrl: grid.helper.url })).rejects.toMatchObject({ code: 'INVALID_CAPABILITY' });
    const rc = parseReadCap(file.cap);
    const dest = path.join(dir, 'missing.bin');
    const err = await download(formatReadCap({ ...rc, key: randomBytes(32) }), dest, { helperUrl: grid.helper.url }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NOT_FOUND' });
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(`${dest}.part`)).toBe(false);
    expect(existsSync(`${dest}.part.json`)).toBe(false);
  });

  it('an empty file', async () => {
    const empty = await putFile(grid, Buffer.alloc(0));
    const dest = path.join(dir, 'empty.bin');
    await download(empty.cap, dest, { helperUrl: grid.helper.url });
    expect((await stat(dest)).size).toBe(0);
  });
});
