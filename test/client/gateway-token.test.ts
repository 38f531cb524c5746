/**
 * The download client never hands the client token to a gateway the user did
 * not configure (issue 13, item 5). A cap URL can point anywhere: a gateway on
 * another origin that answers 401 gets no token and the download fails
 * clearly; the configured helper's gateway still gets it after a 401.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { etagOf, formatReadCap, parseReadCap, verifyCapOf } from '../../core/capability.js';
import { download } from '../../client/download.js';
import { HelperError } from '../../client/http.js';

const TOKEN = 'client-token-for-the-configured-helper';
const SIZE = 1000;
const cap = formatReadCap({ key: randomBytes(32), uebHash: randomBytes(32), k: 2, n: 4, size: SIZE });
const etag = etagOf(verifyCapOf(parseReadCap(cap)));

/** A gateway that records the Authorization header of every request; it serves the file only with `wants` (if set). */
interface FakeGateway {
  url: string;
  seen: (string | undefined)[];
  server: Server;
}
const started: Server[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function fakeGateway(wants: string | undefined): Promise<FakeGateway> {
  const seen: (string | undefined)[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    seen.push(req.headers.authorization);
    if (wants !== undefined && req.headers.authorization !== wants) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'UNAUTHORIZED', message: 'token please' }));
      return;
    }
    res.writeHead(200, { 'content-length': String(SIZE), etag }).end(Buffer.alloc(SIZE, 7));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  started.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

const sink = () => new PassThrough().resume();
const retry = { attempts: 0, baseMs: 1, maxMs: 1 };

describe('client token and gateways', () => {
  it('a cap URL on another origin that answers 401 never receives the token; the download fails with UNAUTHORIZED', async () => {
    const configured = await fakeGateway(undefined);
    const foreign = await fakeGateway(`Bearer ${TOKEN}`);
    const err = await download(`${foreign.url}/uri/${encodeURIComponent(cap)}`, sink(), { helperUrl: configured.url, token: TOKEN, retry }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HelperError);
    expect((err as HelperError).code).toBe('UNAUTHORIZED');
    expect((err as HelperError).message).toContain('sent only to the configured helper');
    expect(foreign.seen.length).toBeGreaterThan(0);
    expect(foreign.seen.every((h) => h === undefined)).toBe(true);
    expect(configured.seen).toEqual([]);
  });

  it('the same host on another port is another gateway', async () => {
    const configured = await fakeGateway(`Bearer ${TOKEN}`);
    const foreign = await fakeGateway(`Bearer ${TOKEN}`);
    const url = `${foreign.url.replace('127.0.0.1', 'localhost')}/uri/${cap}`;
    await expect(download(url, sink(), { helperUrl: configured.url.replace('127.0.0.1', 'localhost'), token: TOKEN, retry })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(foreign.seen.every((h) => h === undefined)).toBe(true);
  });

  it('a cap URL on another origin that needs no token downloads without it', async () => {
    const configured = await fakeGateway(undefined);
    const foreign = await fakeGateway(undefined);
    const r = await download(`${foreign.url}/prefix/uri/${encodeURIComponent(cap)}?x=1`, sink(), { helperUrl: configured.url, token: TOKEN, retry });
    expect(r.bytes).toBe(SIZE);
    expect(foreign.seen).toEqual([undefined]);
  });

  it('the configured helper gets the token after a 401, by read-cap or by a cap URL on its origin', async () => {
    const configured = await fakeGateway(`Bearer ${TOKEN}`);
    expect((await download(cap, sink(), { helperUrl: configured.url, token: TOKEN, retry })).bytes).toBe(SIZE);
    expect((await download(`${configured.url}/uri/${cap}`, sink(), { helperUrl: `${configured.url}/`, token: TOKEN, retry })).bytes).toBe(SIZE);
    expect(configured.seen).toEqual([undefined, `Bearer ${TOKEN}`, undefined, `Bearer ${TOKEN}`]);
  });

  it('a URL that is no cap URL is INVALID_CAPABILITY', async () => {
    const configured = await fakeGateway(undefined);
    await expect(download(`${configured.url}/file/${cap}`, sink(), { helperUrl: configured.url })).rejects.toMatchObject({ code: 'INVALID_CAPABILITY' });
    await expect(download(`http://user:pw@127.0.0.1:1/uri/${cap}`, sink(), { helperUrl: configured.url })).rejects.toMatchObject({ code: 'INVALID_CAPABILITY' });
  });
});
