import type { Dirent } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { request } from 'undici';
import { formatReadCap } from '../../core/capability.js';
import { formatStorageIndex } from '../../core/storage-index.js';
import { StorageClient } from '../../storage/client.js';
import { wrongBytes } from '../support/byteranges.js';
import { HelperCalls } from '../support/helper-client.js';
import { prepare } from '../support/prepare.js';
import { CLIENT_TOKEN, GRID_TOKEN, startHelperProc, startStorage, type Drill, type Proc } from './lib.js';

const MARK = 'fzz';

/** Strings that try to be storage indexes, share numbers, capabilities or paths out of the data dir; `known` are real ones. */
function segmentOf(known: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(...known),
    fc.constant('aaaaaaaaaaaaaaaaaaaaaaaaaa'),
    fc.stringMatching(/^[a-z2-7]{20,30}$/),
    fc.constantFrom('..', '%2e%2e', '..%2f..%2fetc', `${MARK}%2f..%2f${MARK}`, '%00', 'AAAAAAAAAAAAAAAAAAAAAAAAAA', '-1', '256', '1e3', `${MARK}`),
    fc.string({ maxLength: 40 }).map((s) => encodeURIComponent(MARK + s)),
  );
}
const headerValue = fc.oneof(fc.constantFrom('', '-1', '0', '1e9', 'bytes=0-', 'bytes=-5', 'bytes=5-1', 'bytes 0-9/*', 'bytes=0-1,3-4', '999999999999999999999', 'application/json', 'application/offset+octet-stream', 'bytes 0-9/1000', 'bytes 500-999/1000', 'bytes 990-1009/1000', 'bytes 0-499/1000'), fc.stringMatching(/^[\x20-\x7e]{0,40}$/));
const body = fc.oneof(fc.constant(undefined), fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)), fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v))));

/** Range headers aimed at a file of `size` bytes: single, suffix, open, multipart (past MAX_PARTS too), malformed. */
function rangeOf(size: number): fc.Arbitrary<string> {
  const pos = fc.oneof(fc.integer({ min: 0, max: size + 10 }), fc.constantFrom(0, 1, size - 1, size, 4095, 4096, 4097));
  const spec = fc.oneof(
    fc.tuple(pos, pos).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
    pos.map((a) => `${a}-`),
    pos.map((a) => `-${a}`),
    fc.tuple(pos, pos).map(([a, b]) => `${a}-${b}`),
  );
  return fc.oneof(
    spec.map((s) => `bytes=${s}`),
    fc.array(spec, { minLength: 2, maxLength: 40 }).map((s) => `bytes=${s.join(',')}`),
    fc.array(spec, { minLength: 2, maxLength: 6 }).map((s) => `BYTES = ${s.join(' , ')}`),
    headerValue,
  );
}

interface Route {
  name: string;
  base: string;
  token: string;
  methods: string[];
  path: fc.Arbitrary<string>;
  headers: fc.Arbitrary<[string, string][]>;
  /** The real file behind `path`, when answers must carry its exact bytes. */
  file?: { path: string; plain: Buffer };
}

const headersOf = (names: string[]) => fc.array(fc.tuple(fc.constantFrom(...(names.length ? names : ['x-none'])), headerValue), { maxLength: 4 });

/**
 * fast-check-generated malformed requests against every public route, aimed
 * at a real file (gateway) and a real allocated and a stored share (storage):
 * no 5xx, no dropped or hung connection, no wrong byte, no file outside the
 * data dirs. Reproducible: `--seed N` (printed) replays the same requests.
 */
export function badInputDrill(runsPerRoute: number, seed: number): Drill {
  return {
    name: `bad input: ${runsPerRoute} generated requests per public route (seed ${seed})`,
    async run(ctx) {
      const procs: Proc[] = [];
      try {
        // Plain http (loopback): this drill feeds malformed HTTP to the route handlers; the other drills run over TLS.
        const storage = await startStorage(path.join(ctx.dir, 's0'), { extra: ['--no-tls'] });
        procs.push(storage);
        const helper = await startHelperProc(ctx.dir, { storageServers: [{ url: storage.url, token: GRID_TOKEN }] });
        procs.push(helper);

        // A real file (five segments, so ranges cross segment boundaries) behind a real cap.
        const plain = randomBytes(5 * 4096 - 123);
        const f = await prepare(plain, { k: 1, n: 2, maxSegmentSize: 4096 });
        const h = new HelperCalls(helper.url, CLIENT_TOKEN);
        await h.upload(f, 1);
        const job = await h.waitFor(f.si, ['done', 'failed'], 60_000);
        if (job.state !== 'done') throw new Error(`seed upload ${String(job.state)}: ${String(job.lastError)}`);
        const cap = formatReadCap({ key: f.key, uebHash: Buffer.from((job.result as { uebHash: string }).uebHash, 'hex'), k: 1, n: 2, size: plain.length });
        const etag = (await fetch(`${helper.url}/uri/${cap}`, { method: 'HEAD' })).headers.get('etag') ?? '"none"';
        // And a share allocated but only half written, on the same server.
        const pendingSi = formatStorageIndex(randomBytes(16));
        const sc = new StorageClient({ url: storage.url, token: GRID_TOKEN });
        await sc.allocate(pendingSi, 1000, [0, 1]);
        await sc.write(pendingSi, 0, 0, randomBytes(500));
        await sc.close();

        const segment = segmentOf([f.si, pendingSi, '0', '1', '2']);
        const capFields = cap.split(':');
        const capPath = fc.oneof(
          { weight: 6, arbitrary: fc.constant(cap) },
          // one field of the real cap replaced
          { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 1, max: capFields.length - 1 }), segment).map(([i, s]) => capFields.map((c, j) => (j === i ? s : c)).join(':')) },
          { weight: 1, arbitrary: fc.tuple(segment, segment).map(([a, b]) => `ferry-chk:${a}:${b}:1:2:${plain.length}`) },
        );
        const gatewayHeaders = fc.record({ range: rangeOf(plain.length), 'if-range': fc.constantFrom(etag, `W/${etag}`, '"0123"', 'Wed, 21 Oct 2015 07:28:00 GMT', '') }, { requiredKeys: [] }).map((r) => Object.entries(r) as [string, string][]);
        const routes: Route[] = [
          { name: 'helper check', base: helper.url, token: CLIENT_TOKEN, methods: ['POST'], path: fc.constant('/helper/v1/check'), headers: headersOf(['content-type']) },
          { name: 'helper tus upload', base: helper.url, token: CLIENT_TOKEN, methods: ['HEAD', 'PATCH', 'POST', 'DELETE', 'OPTIONS', 'GET'], path: segment.map((s) => `/helper/v1/uploads/${s}`), headers: headersOf(['tus-resumable', 'upload-offset', 'upload-length', 'upload-metadata', 'content-type']) },
          { name: 'helper jobs', base: helper.url, token: CLIENT_TOKEN, methods: ['GET'], path: segment.map((s) => `/helper/v1/jobs/${s}`), headers: headersOf([]) },
          { name: 'gateway', base: helper.url, token: '', methods: ['GET', 'HEAD'], path: capPath.map((c) => `/uri/${c}`), headers: gatewayHeaders, file: { path: `/uri/${cap}`, plain } },
          { name: 'storage allocate', base: storage.url, token: GRID_TOKEN, methods: ['POST'], path: segment.map((s) => `/storage/v1/immutable/${s}`), headers: headersOf(['content-type']) },
          { name: 'storage write', base: storage.url, token: GRID_TOKEN, methods: ['PATCH'], path: fc.tuple(segment, segment).map(([a, b]) => `/storage/v1/immutable/${a}/${b}`), headers: headersOf(['content-range', 'content-type']) },
          { name: 'storage read', base: storage.url, token: GRID_TOKEN, methods: ['GET', 'HEAD'], path: fc.tuple(segment, segment).map(([a, b]) => `/storage/v1/immutable/${a}/${b}`), headers: headersOf(['range']) },
          {
            name: 'storage misc',
            base: storage.url,
            token: GRID_TOKEN,
            methods: ['GET', 'POST', 'PUT', 'DELETE'],
            path: fc.tuple(segment, segment, fc.integer({ min: 0, max: 3 })).map(([a, b, i]) => [`/storage/v1/immutable/${a}/shares`, `/storage/v1/immutable/${a}/${b}/corrupt`, `/storage/v1/lease/${a}`, `/storage/v1/immutable/${a}/${b}/missing`][i]),
            headers: headersOf(['content-type']),
          },
        ];
        let fiveHundreds = 0;
        let transport = 0;
        let wrong = 0;
        const failedRoutes: string[] = [];
        for (const [i, r] of routes.entries()) {
          const seen = new Map<string, number>();
          const note = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);
          const property = fc.asyncProperty(fc.constantFrom(...r.methods), r.path, r.headers, body, fc.boolean(), async (method, p, hs, b, withToken) => {
            const headers: Record<string, string> = Object.fromEntries(hs);
            if (withToken && r.token) headers.authorization = `Bearer ${r.token}`;
            const sendBody = method === 'GET' || method === 'HEAD' ? undefined : b;
            try {
              const res = await request(`${r.base}${p}`, { method: method as 'GET', headers, body: sendBody, headersTimeout: 10_000, bodyTimeout: 10_000 });
              const got = Buffer.from(await res.body.arrayBuffer());
              note(String(res.statusCode));
              if (res.statusCode >= 500) {
                fiveHundreds++;
                return false;
              }
              if (r.file && p === r.file.path && method === 'GET') {
                const bad = wrongBytes({ status: res.statusCode, contentType: res.headers['content-type'] as string | undefined, contentRange: res.headers['content-range'] as string | undefined, body: got }, r.file.plain);
                if (bad) {
                  wrong++;
                  ctx.log(`${r.name}: ${bad} for ${JSON.stringify(headers)}`);
                  return false;
                }
              }
              return true;
            } catch (err) {
              // A reset, a hang-up or a timeout is a server that failed this request, not a pass.
              const e = err as Error & { code?: string };
              note(e.code ?? e.name);
              transport++;
              return false;
            }
          });
          const details = await fc.check(property, { numRuns: runsPerRoute, seed: seed + i, endOnFailure: true });
          ctx.log(`${r.name}: ${[...seen].sort().map(([s, n]) => `${s}×${n}`).join(' ')}`);
          if (details.failed) {
            failedRoutes.push(r.name);
            ctx.log(`${r.name}: FAILED on ${fc.stringify(details.counterexample)} (seed ${details.seed}, path ${details.counterexamplePath})`);
          }
        }
        ctx.check('every generated request on every route held', failedRoutes.length === 0, failedRoutes.join(', '));
        ctx.check('no request got a 5xx', fiveHundreds === 0, `${fiveHundreds}`);
        ctx.check('no connection was reset, dropped or left hanging', transport === 0, `${transport}`);
        ctx.check('every 200 / 206 from the gateway carried exactly the bytes it named', wrong === 0, `${wrong}`);
        ctx.check('the helper process is still alive', helper.child.exitCode === null && helper.child.signalCode === null);
        ctx.check('the storage process is still alive', storage.child.exitCode === null && storage.child.signalCode === null);
        const stray = [...(await findMarked(ctx.dir)), ...(await findMarked(os.tmpdir(), 1))];
        ctx.check('no file or directory named by a request exists anywhere', stray.length === 0, stray.slice(0, 3).join(', '));
      } finally {
        for (const p of procs.reverse()) await p.kill();
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
