import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { uebHash } from '../../core/ueb.js';
import { GRID_TOKEN, startGrid, type TestGrid } from '../support/grid.js';
import { HelperCalls } from '../support/helper-client.js';
import { checkBody, prepare } from '../support/prepare.js';
import { reassemble } from '../support/reassemble.js';

let grid: TestGrid | undefined;
afterEach(async () => {
  await grid?.close();
  grid = undefined;
});

const urls = (g: TestGrid) => g.storage.filter((s) => s !== undefined).map((s) => s!.url);

/** The job ends done and the shares on the grid decode to exactly `plain`. */
async function expectStored(g: TestGrid, h: HelperCalls, si: string, key: Uint8Array, plain: Buffer): Promise<void> {
  const job = await h.waitFor(si);
  expect(job.state).toBe('done');
  const result = job.result as { uebHash: string };
  const back = await reassemble({ urls: urls(g), token: GRID_TOKEN, si, key, uebHash: Buffer.from(result.uebHash, 'hex') });
  expect(back.equals(plain)).toBe(true);
}

describe('helper: check, spool, encode and push', () => {
  it('uploads a file to a result whose shares decode to the plaintext; a second upload sends nothing', async () => {
    grid = await startGrid();
    const h = new HelperCalls(grid.helper.url);
    const plain = randomBytes(300_001);
    const f = await prepare(plain);
    const first = await h.upload(f);
    expect(first.answer).toMatchObject({ status: 'send', offset: 0, missing: [[0, plain.length]] });
    const job = await h.waitFor(f.si);
    expect(job.state).toBe('done');
    const result = job.result as { ueb: string; uebHash: string; shareMap: Record<string, string[]>; happiness: number; pushed: number[] };
    expect(result.pushed).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(result.happiness).toBe(10);
    expect(uebHash(Buffer.from(result.ueb, 'base64')).toString('hex')).toBe(result.uebHash);
    // Ten distinct servers, one share each.
    expect(new Set(Object.values(result.shareMap).flat()).size).toBe(10);
    const back = await reassemble({ urls: urls(grid), token: GRID_TOKEN, si: f.si, key: f.key, uebHash: Buffer.from(result.uebHash, 'hex') });
    expect(back.equals(plain)).toBe(true);

    const second = await h.upload(f);
    expect(second.sent).toBe(0);
    expect(second.answer).toMatchObject({ status: 'have-it', uebHash: result.uebHash, happiness: 10 });
  });

  it('resumes an interrupted transfer: only the remainder is sent', async () => {
    grid = await startGrid();
    const h = new HelperCalls(grid.helper.url);
    const plain = randomBytes(10 * 64 * 1024 + 5);
    const f = await prepare(plain);
    await h.check(checkBody(f));
    // The first attempt delivers 3.5 segments, then the connection ends.
    const cut = Math.floor(3.5 * f.geometry.segmentSize);
    // Its last half segment is garbage: unverified bytes that may sit in the spool file.
    const firstAttempt = Buffer.concat([f.ciphertext.subarray(0, 3 * f.geometry.segmentSize), randomBytes(cut - 3 * f.geometry.segmentSize)]);
    const partial = await h.patch(f.si, 0, firstAttempt);
    expect(partial.status).toBe(204);
    expect(partial.offset).toBe(3 * f.geometry.segmentSize); // only whole, verified segments count
    const again = await h.check(checkBody(f));
    expect(again.json).toMatchObject({ status: 'send', offset: 3 * f.geometry.segmentSize, missing: [[3 * f.geometry.segmentSize, f.geometry.size]] });
    const head = await h.head(f.si);
    expect(head).toMatchObject({ status: 200, offset: 3 * f.geometry.segmentSize, length: f.geometry.size });
    // The half segment after the cut may sit in the spool file unverified; it must not reach a share.
    const rest = await h.patch(f.si, head.offset, f.ciphertext.subarray(head.offset));
    expect(rest).toMatchObject({ status: 204, offset: f.geometry.size });
    await expectStored(grid, h, f.si, f.key, plain);
  });

  it('refuses a corrupted segment alone and keeps what came before it', async () => {
    grid = await startGrid();
    const h = new HelperCalls(grid.helper.url);
    const plain = randomBytes(6 * 64 * 1024);
    const f = await prepare(plain);
    await h.check(checkBody(f));
    const bad = Buffer.from(f.ciphertext);
    bad[2 * f.geometry.segmentSize + 17] ^= 0xff; // inside segment 2
    const res = await h.patch(f.si, 0, bad);
    expect(res.status, res.text).toBe(460);
    expect(JSON.parse(res.text)).toMatchObject({ error: 'SEGMENT_HASH_MISMATCH', segment: 2, offset: 2 * f.geometry.segmentSize });
    const head = await h.head(f.si);
    expect(head.offset).toBe(2 * f.geometry.segmentSize);
    const rest = await h.patch(f.si, head.offset, f.ciphertext.subarray(head.offset));
    expect(rest).toMatchObject({ status: 204, offset: f.geometry.size });
    // Not one byte of the refused segment may reach the shares.
    await expectStored(grid, h, f.si, f.key, plain);
  });

  it('encodes and pushes while the upload is still arriving (pipelined), then completes', async () => {
    grid = await startGrid();
    const h = new HelperCalls(grid.helper.url);
    const plain = randomBytes(8 * 64 * 1024);
    const f = await prepare(plain);
    await h.check(checkBody(f));
    const half = 4 * f.geometry.segmentSize;
    expect((await h.patch(f.si, 0, f.ciphertext.subarray(0, half))).offset).toBe(half);
    // Encoding catches up with what arrived while the job is still receiving.
    const deadline = Date.now() + 10_000;
    let job = (await h.job(f.si)).json;
    while (!(Number(job.segmentsEncoded) >= 1) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      job = (await h.job(f.si)).json;
    }
    expect(job.state).toBe('receiving');
    expect(Number(job.segmentsEncoded)).toBeGreaterThanOrEqual(1);
    expect((await h.patch(f.si, half, f.ciphertext.subarray(half))).offset).toBe(f.geometry.size);
    const done = await h.waitFor(f.si);
    expect(done.state).toBe('done');
    const result = done.result as { uebHash: string };
    const back = await reassemble({ urls: urls(grid), token: GRID_TOKEN, si: f.si, key: f.key, uebHash: Buffer.from(result.uebHash, 'hex') });
    expect(back.equals(plain)).toBe(true);
  });
});
