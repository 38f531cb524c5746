/**
 * The client side of bench/client-upload.ts, in its own process as in real
 * use (a client and a helper never share an event loop):
 *   node client-upload-child.js raw URL FILE           -> {"ms": ...}
 *   node client-upload-child.js tus UPLOAD_URL FILE     -> {"ms": ...}  (bare tus PATCHes, no encryption)
 *   node client-upload-child.js ferry URL FILE STATE   -> {"hashMs": ..., "sendMs": ...}
 */
import { createReadStream, statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import { upload, type UploadPhase } from '../client/upload.js';

export const BENCH_TOKEN = 'bench-client-token-0123456789abcdef';

async function main(): Promise<void> {
  const [mode, url, file, stateDir] = process.argv.slice(2);
  if (mode === 'raw') {
    const t0 = performance.now();
    const res = await request(`${url}/put`, { method: 'PUT', body: createReadStream(file, { highWaterMark: 1 << 20 }), headers: { 'content-length': String(statSync(file).size) } });
    await res.body.text();
    console.log(JSON.stringify({ ms: performance.now() - t0 }));
    return;
  }
  if (mode === 'tus') {
    const size = statSync(file).size;
    const t0 = performance.now();
    for (let offset = 0; offset < size; ) {
      const end = Math.min(size, offset + 32 * 1024 * 1024);
      const res = await request(url, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'tus-resumable': '1.0.0', 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream', 'content-length': String(end - offset) },
        body: createReadStream(file, { start: offset, end: end - 1, highWaterMark: 1 << 20 }),
      });
      await res.body.dump();
      if (res.statusCode !== 204) throw new Error(`PATCH answered ${res.statusCode}`);
      offset = Number(res.headers['upload-offset']);
    }
    console.log(JSON.stringify({ ms: performance.now() - t0 }));
    return;
  }
  const at = new Map<UploadPhase, number>();
  const ac = new AbortController();
  await upload(file, {
    helperUrl: url,
    token: BENCH_TOKEN,
    stateDir,
    signal: ac.signal,
    onProgress: (p) => {
      if (!at.has(p.phase)) at.set(p.phase, performance.now());
      if (p.phase === 'encoding') ac.abort(); // every byte is at the helper: the client's part is done
    },
  }).catch((err: unknown) => {
    if (!ac.signal.aborted) throw err;
  });
  console.log(JSON.stringify({ hashMs: at.get('checking')! - at.get('hashing')!, sendMs: at.get('encoding')! - at.get('uploading')! }));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
