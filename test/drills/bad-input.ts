import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { request } from 'undici';
import { CLIENT_TOKEN, GRID_TOKEN, startHelperProc, startStorage, type Drill, type Proc } from './lib.js';

const MARK = 'fzz';

/** Strings that try to be storage indexes, share numbers, capabilities or paths out of the data dir. */
const segment = fc.oneof(
  fc.constant('aaaaaaaaaaaaaaaaaaaaaaaaaa'),
  fc.stringMatching(/^[a-z2-7]{20,30}$/),
  fc.constantFrom('..', '%2e%2e', '..%2f..%2fetc', `${MARK}%2f..%2f${MARK}`, '%00', 'AAAAAAAAAAAAAAAAAAAAAAAAAA', '-1', '256', '1e3', `${MARK}`),
  fc.string({ maxLength: 40 }).map((s) => encodeURIComponent(MARK + s)),
);
const headerValue = fc.oneof(fc.constantFrom('', '-1', '0', '1e9', 'bytes=0-', 'bytes=-5', 'bytes=5-1', 'bytes 0-9/*', 'bytes=0-1,3-4', '999999999999999999999', 'application/json', 'application/offset+octet-stream'), fc.stringMatching(/^[\x20-\x7e]{0,40}$/));
const body = fc.oneof(fc.constant(undefined), fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)), fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))));

interface Route {
  name: string;
  base: () => string;
  token: string;
  methods: string[];
  path: fc.Arbitrary<string>;
  headers: string[];
}

/** fast-check-generated malformed requests against every public route: no crash, no 5xx, no file outside the data dirs. */
export function badInputDrill(runsPerRoute: number): Drill {
  return {
    name: `bad input: ${runsPerRoute} generated requests per public route`,
    async run(ctx) {
      const storage: Proc = await startStorage(path.join(ctx.dir, 's0'));
      const helper = await startHelperProc(ctx.dir, { storageServers: [{ url: storage.url, token: GRID_TOKEN }] });
      const routes: Route[] = [
        { name: 'helper check', base: () => helper.url, token: CLIENT_TOKEN, methods: ['POST'], path: fc.constant('/helper/v1/check'), headers: ['content-type'] },
        { name: 'helper tus upload', base: () => helper.url, token: CLIENT_TOKEN, methods: ['HEAD', 'PATCH', 'POST', 'DELETE', 'OPTIONS', 'GET'], path: segment.map((s) => `/helper/v1/uploads/${s}`), headers: ['tus-resumable', 'upload-offset', 'upload-length', 'upload-metadata', 'content-type'] },
        { name: 'helper jobs', base: () => helper.url, token: CLIENT_TOKEN, methods: ['GET'], path: segment.map((s) => `/helper/v1/jobs/${s}`), headers: [] },
        { name: 'gateway', base: () => helper.url, token: '', methods: ['GET', 'HEAD'], path: fc.tuple(segment, segment).map(([a, b]) => `/uri/ferry-chk:${a}:${b}:3:10:100`), headers: ['range', 'if-range'] },
        { name: 'storage allocate', base: () => storage.url, token: GRID_TOKEN, methods: ['POST'], path: segment.map((s) => `/storage/v1/immutable/${s}`), headers: ['content-type'] },
        { name: 'storage write', base: () => storage.url, token: GRID_TOKEN, methods: ['PATCH'], path: fc.tuple(segment, segment).map(([a, b]) => `/storage/v1/immutable/${a}/${b}`), headers: ['content-range', 'content-type'] },
        { name: 'storage read', base: () => storage.url, token: GRID_TOKEN, methods: ['GET', 'HEAD'], path: fc.tuple(segment, segment).map(([a, b]) => `/storage/v1/immutable/${a}/${b}`), headers: ['range'] },
        { name: 'storage misc', base: () => storage.url, token: GRID_TOKEN, methods: ['GET', 'POST', 'PUT', 'DELETE'], path: fc.tuple(segment, segment).map(([a, b]) => fc.sample(fc.constantFrom(`/storage/v1/immutable/${a}/shares`, `/storage/v1/immutable/${a}/${b}/corrupt`, `/storage/v1/lease/${a}`, `/storage/v1/immutable/${a}/${b}/missing`), 1)[0]), headers: ['content-type'] },
      ];
      const statuses = new Map<string, Map<number, number>>();
      let fiveHundreds = 0;
      try {
        for (const r of routes) {
          const seen = new Map<number, number>();
          statuses.set(r.name, seen);
          await fc.assert(
            fc.asyncProperty(fc.constantFrom(...r.methods), r.path, fc.array(fc.tuple(fc.constantFrom(...(r.headers.length ? r.headers : ['x-none'])), headerValue), { maxLength: 4 }), body, fc.boolean(), async (method, p, hs, b, withToken) => {
                const headers: Record<string, string> = Object.fromEntries(hs);
                if (withToken && r.token) headers.authorization = `Bearer ${r.token}`;
                const sendBody = method === 'GET' || method === 'HEAD' ? undefined : b;
                let status: number;
                try {
                  const res = await request(`${r.base()}${p}`, { method: method as 'GET', headers, body: sendBody, headersTimeout: 10_000, bodyTimeout: 10_000 });
                  status = res.statusCode;
                  await res.body.dump();
                } catch (err) {
                  // A refused malformed request line or header is fine; a dead server is not (checked below).
                  status = /ECONNREFUSED/.test(String((err as Error).message)) ? 599 : 0;
                }
                seen.set(status, (seen.get(status) ?? 0) + 1);
                if (status >= 500) fiveHundreds++;
                return status < 500;
              },
            ),
            { numRuns: runsPerRoute, endOnFailure: true },
          ).catch((err: Error) => ctx.log(`${r.name}: ${err.message.split('\n').slice(0, 4).join(' | ')}`));
          ctx.log(`${r.name}: ${[...seen].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ')}`);
        }
        ctx.check('no request got a 5xx', fiveHundreds === 0, `${fiveHundreds}`);
        ctx.check('the helper process is still alive', helper.child.exitCode === null && helper.child.signalCode === null);
        ctx.check('the storage process is still alive', storage.child.exitCode === null && storage.child.signalCode === null);
        const stray = [...(await findMarked(ctx.dir)), ...(await findMarked(os.tmpdir(), 1))];
        ctx.check('no file or directory named by a request exists anywhere', stray.length === 0, stray.slice(0, 3).join(', '));
      } finally {
        await helper.kill();
        await storage.kill();
      }
    },
  };
}

async function findMarked(dir: string, depth = 8): Promise<string[]> {
  const out: string[] = [];
  let entries: Dirent[] = [];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.name.includes(MARK)) out.push(full);
    if (e.isDirectory() && depth > 1) out.push(...(await findMarked(full, depth - 1)));
  }
  return out;
}
