/**
 * StorageClient against a storage server that misbehaves at the HTTP level on
 * a range read: a wrong Content-Range start, a short or an oversized body, a
 * 200 with the whole share instead of a 206. Each is an UPSTREAM_ERROR, never
 * bytes handed on; the honest answer is the positive control.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFerryError } from '../../core/errors.js';
import { StorageClient } from '../../storage/client.js';

type Misbehaviour = 'honest' | 'wrong-start' | 'short' | 'oversized' | 'whole-200';
const SHARE = randomBytes(10_000);
const SI = 'aaaaaaaaaaaaaaaaaaaaaaaaaa';
let mode: Misbehaviour = 'honest';
let server: http.Server;
let client: StorageClient;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!m) {
      res.writeHead(400).end();
      return;
    }
    const start = Number(m[1]);
    const last = Math.min(Number(m[2]), SHARE.length - 1);
    const part = SHARE.subarray(start, last + 1);
    // No Content-Length: the body is chunked, so it can disagree with Content-Range.
    if (mode === 'whole-200') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(SHARE);
      return;
    }
    const shift = mode === 'wrong-start' ? 1 : 0;
    res.writeHead(206, { 'content-type': 'application/octet-stream', 'content-range': `bytes ${start + shift}-${last}/${SHARE.length}` });
    if (mode === 'short') res.end(part.subarray(0, part.length - 7));
    else if (mode === 'oversized') res.end(Buffer.concat([part, randomBytes(7)]));
    else res.end(part.subarray(shift));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new StorageClient({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 'fake-storage-token-0123456789' });
});
afterAll(async () => {
  await client?.close();
  await new Promise((resolve) => server?.close(resolve));
});

describe('StorageClient range reads from a misbehaving server', () => {
  it('reads the named bytes from an honest server (control)', async () => {
    mode = 'honest';
    expect(Buffer.from(await client.read(SI, 0, 1000, 3000)).equals(SHARE.subarray(1000, 3000))).toBe(true);
  });

  it.each<[Misbehaviour, RegExp]>([
    ['wrong-start', /answered a range read with 206 bytes 1001-/],
    ['whole-200', /answered a range read with 200/],
    ['short', /sent 1993 of 2000 bytes/],
    ['oversized', /more bytes than its Content-Range/],
  ])('refuses %s', async (misbehaviour, message) => {
    mode = misbehaviour;
    const err = await client.read(SI, 0, 1000, 3000).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isFerryError(err) && err.code).toBe('UPSTREAM_ERROR');
    expect((err as Error).message).toMatch(message);
  });
});
