import { randomBytes } from 'node:crypto';
import { open, writeFile, type FileHandle } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cipherReady } from '../../core/crypto/cipher.js';
import { fileGeometry } from '../../core/params.js';
import { createAgent } from '../../client/http.js';
import { sendCiphertext, type TusSendOptions } from '../../client/tus-upload.js';
import { prepare, type PreparedFile } from '../support/prepare.js';
import { tempDir } from '../support/tmp.js';

/** One scripted answer per PATCH; `ok` stores the body (whole segments only, as the helper does) and answers 204. */
type Step = { status: number; body?: unknown; headers?: Record<string, string> } | 'ok';

const cleanups: (() => Promise<void>)[] = [];
beforeAll(() => cipherReady());
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const params = { k: 3, n: 10, maxSegmentSize: 4096 };

async function fixture(steps: Step[]) {
  const t = await tempDir('ferry-tus-');
  cleanups.push(t.cleanup);
  const plain = randomBytes(10 * 4097);
  const file = path.join(t.dir, 'f');
  await writeFile(file, plain);
  const f: PreparedFile = await prepare(plain, params);
  const g = fileGeometry(plain.length, params);
  const received = Buffer.alloc(plain.length);
  const seen: string[] = [];
  let offset = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push(req.method!);
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'upload-offset': String(offset), 'upload-length': String(plain.length) }).end();
        return;
      }
      const step = steps.shift() ?? 'ok';
      if (step !== 'ok') {
        res.writeHead(step.status, { 'content-type': 'application/json', ...step.headers }).end(JSON.stringify(step.body ?? { error: 'X', message: `scripted ${step.status}` }));
        return;
      }
      const at = Number(req.headers['upload-offset']);
      if (at !== offset) {
        res.writeHead(409).end('{"error":"OFFSET_MISMATCH","message":"Upload-Offset conflict"}');
        return;
      }
      const body = Buffer.concat(chunks);
      body.copy(received, at);
      const end = at + body.length;
      offset = end === plain.length ? end : Math.floor(end / g.segmentSize) * g.segmentSize;
      res.writeHead(204, { 'upload-offset': String(offset) }).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const agent = createAgent();
  const fh: FileHandle = await open(file);
  cleanups.push(async () => {
    await fh.close();
    await agent.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const opts: TusSendOptions = {
    agent,
    token: 't',
    uploadUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/helper/v1/uploads/${f.si}`,
    fh,
    path: file,
    key: f.key,
    geometry: g,
    segmentHashes: f.hashes,
    startOffset: 0,
    chunkSize: 3 * g.segmentSize,
    stallTimeoutMs: 5_000,
    retry: { attempts: 4, baseMs: 1, maxMs: 5 },
  };
  return { f, opts, received, seen, plain };
}

describe('tus sender', () => {
  it('retries 423, 429, 503 and 409, and continues from the offset the helper returns', async () => {
    const { f, opts, received, seen } = await fixture([
      'ok',
      { status: 423 },
      { status: 429, headers: { 'retry-after': '0' } },
      'ok',
      { status: 503 },
      { status: 409 },
    ]);
    const retried: number[] = [];
    const stats = await sendCiphertext({ ...opts, onRetry: (e) => retried.push(Number(e.details?.status)) });
    expect(retried).toEqual([423, 429, 503, 409]);
    expect(received.equals(f.ciphertext)).toBe(true);
    expect(seen.filter((m) => m === 'HEAD').length).toBe(4); // after each failure: where are we?
    expect(stats.sentBytes).toBeGreaterThanOrEqual(f.ciphertext.length);
  });

  it('resends a segment refused with 460 when the file still matches; stops when the file changed', async () => {
    const seg = 4098; // 4096 rounded up to a multiple of k=3
    const a = await fixture([{ status: 460, body: { error: 'SEGMENT_HASH_MISMATCH', message: 'bad', segment: 0, offset: 0 } }]);
    await sendCiphertext(a.opts);
    expect(a.received.equals(a.f.ciphertext)).toBe(true);

    const b = await fixture([{ status: 460, body: { error: 'SEGMENT_HASH_MISMATCH', message: 'bad', segment: 1, offset: seg } }]);
    await writeFile(b.opts.path, Buffer.concat([b.plain.subarray(0, seg), Buffer.alloc(seg, 1), b.plain.subarray(2 * seg)]));
    await expect(sendCiphertext(b.opts)).rejects.toMatchObject({ code: 'CONFLICT', details: { fileChanged: true }, message: expect.stringContaining('changed since it was hashed') });
  });

  it('gives up after the retry budget without progress, and does not retry a 404 or a 400', async () => {
    const a = await fixture(Array.from({ length: 10 }, () => ({ status: 503 })));
    await expect(sendCiphertext(a.opts)).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('gave up after 4 retries without progress') });
    const b = await fixture([{ status: 404, body: { error: 'NOT_FOUND', message: 'no upload' } }]);
    await expect(sendCiphertext(b.opts)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const c = await fixture([{ status: 400, body: { error: 'BAD_REQUEST', message: 'nope' } }]);
    await expect(sendCiphertext(c.opts)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});
