import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { StorageClient } from '../../storage/client.js';
import { HelperCalls } from '../support/helper-client.js';
import { prepare } from '../support/prepare.js';
import { formatReadCap } from '../../core/capability.js';
import { decodeShareHeader } from '../../core/share-layout.js';
import { CLIENT_TOKEN, GRID_TOKEN, startHelperProc, startStorage, type Drill, type Proc } from './lib.js';

const KiB = 1024;

async function flip(file: string, pos: number, mask: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, pos);
    b[0] ^= mask;
    await fh.write(b, 0, 1, pos);
  } finally {
    await fh.close();
  }
}

/** Reads the whole file through the gateway; `prefixOk`: whatever arrived is a prefix of the truth. */
async function fetchAll(url: string, plain: Buffer): Promise<{ status: number; identical: boolean; prefixOk: boolean; length?: number; error?: string }> {
  try {
    const res = await fetch(url);
    if (res.status !== 200) return { status: res.status, identical: false, prefixOk: true, error: await res.text() };
    const chunks: Buffer[] = [];
    try {
      for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c));
    } catch {
      /* cut short: checked below */
    }
    const got = Buffer.concat(chunks);
    return { status: 200, identical: got.equals(plain), prefixOk: plain.subarray(0, got.length).equals(got), length: got.length };
  } catch (err) {
    return { status: 0, identical: false, prefixOk: true, error: (err as Error).message };
  }
}

/** Every corruption report the storage servers wrote, as "<server dir>/<si>/<shnum>". */
async function reportsOnDisk(dirs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const d of dirs) {
    const names = await readdir(path.join(d, 'corruption')).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const r = JSON.parse(await readFile(path.join(d, 'corruption', name), 'utf8')) as { storageIndex: string; shareNumber: number };
      out.push(`${path.basename(d)}/${r.storageIndex}/${r.shareNumber}`);
    }
  }
  return out;
}

/** Byte flips on disk: downloads stay identical and corruption is reported; n-k+1 bad shares give a clean error, never wrong bytes. */
export function corruptDrill(flips: number): Drill {
  return {
    name: `corruption: ${flips} single-byte flips over blocks, trees and UEB`,
    async run(ctx) {
      const dirs = Array.from({ length: 10 }, (_, i) => path.join(ctx.dir, `s${i}`));
      const storage: Proc[] = [];
      for (const d of dirs) storage.push(await startStorage(d));
      const helper = await startHelperProc(ctx.dir, { storageServers: storage.map((s) => ({ url: s.url, token: GRID_TOKEN })) });
      const clients = storage.map((s) => new StorageClient({ url: s.url, token: GRID_TOKEN }));
      try {
        const h = new HelperCalls(helper.url, CLIENT_TOKEN);
        const upload = async (size: number) => {
          const plain = randomBytes(size);
          const f = await prepare(plain, { k: 3, n: 10, maxSegmentSize: 64 * KiB });
          await h.upload(f);
          const job = await h.waitFor(f.si);
          const result = job.result as { uebHash: string };
          const cap = formatReadCap({ key: f.key, uebHash: Buffer.from(result.uebHash, 'hex'), k: 3, n: 10, size });
          const files: { file: string; shnum: number }[] = [];
          for (const d of dirs) {
            for (let s = 0; s < 10; s++) {
              const file = path.join(d, 'shares', f.si.slice(0, 2), f.si, String(s));
              if (existsSync(file)) files.push({ file, shnum: s });
            }
          }
          return { plain, si: f.si, segmentSize: f.geometry.segmentSize, url: `${helper.url}/uri/${cap}`, files };
        };
        /** Every flipped share, as "<server dir>/<si>/<shnum>": the only shares a report may name. */
        const flipped = new Set<string>();
        const shareKey = (file: string) => {
          const [dir, , , si, shnum] = path.relative(ctx.dir, file).split(path.sep);
          return `${dir}/${si}/${shnum}`;
        };
        const reportsBefore = await Promise.all(clients.map(async (c) => (await c.status()).corruption.count));
        // Flips accumulate, up to n - k = 7 bad shares per file (each flip on another share), over as many files as it takes.
        let identical = 0;
        let wrong = 0;
        let done = 0;
        let files = 0;
        while (done < flips) {
          const file = await upload(150 * KiB + Math.floor(Math.random() * 100 * KiB));
          files++;
          const order = [...file.files].sort(() => Math.random() - 0.5).slice(0, Math.min(7, flips - done));
          for (const target of order) {
            const size = (await stat(target.file)).size;
            const pos = Math.floor(Math.random() * size);
            await flip(target.file, pos, 1 + Math.floor(Math.random() * 255));
            flipped.add(shareKey(target.file));
            const got = await fetchAll(file.url, file.plain);
            if (got.identical) identical++;
            else ctx.log(`flip ${done}: share ${target.shnum} byte ${pos}: status ${got.status}, ${got.prefixOk ? 'a correct prefix' : 'WRONG BYTES'} ${got.length} bytes ${got.error ?? ''}`);
            if (!got.prefixOk) wrong++;
            done++;
          }
        }
        ctx.log(`${flips} flips over ${files} files, up to 7 corrupt shares per file at once`);
        ctx.check('every download was byte-identical with up to n - k shares damaged', identical === flips, `${identical}/${flips}`);
        ctx.check('no download ever delivered a wrong byte', wrong === 0, `${wrong}`);
        const reportsAfter = await Promise.all(clients.map(async (c) => (await c.status()).corruption.count));
        const reported = reportsAfter.reduce((a, b, i) => a + b - reportsBefore[i], 0);
        ctx.check('the gateway reported the corruptions it met to the servers', reported > 0, `${reported} reports`);
        const named = await reportsOnDisk(dirs);
        const wrongly = named.filter((n) => !flipped.has(n));
        ctx.check('every report names a share that was flipped', named.length === reported && wrongly.length === 0, `${named.length} reports on disk, ${wrongly.length} name unflipped shares: ${wrongly.slice(0, 3).join(', ')}`);
        // n - k + 1 = 8 shares bad in the same block: no way to get that segment right.
        // In segment 0 the download fails before any byte is sent; in the last segment the
        // response has started, and must stop exactly where the bad segment begins.
        for (const where of ['first', 'last'] as const) {
          const last = await upload(300 * KiB);
          for (const t of last.files.slice(0, 8)) {
            const header = decodeShareHeader(await readFile(t.file));
            const block = where === 'first' ? 0 : header.numSegments - 1;
            await flip(t.file, header.offsets[0] + block * header.blockSize + 5, 0xff);
          }
          const boundary = where === 'first' ? 0 : Math.floor((last.plain.length - 1) / last.segmentSize) * last.segmentSize;
          const broken = await fetchAll(last.url, last.plain);
          const length = broken.length ?? 0;
          ctx.check(`with 8 of 10 shares corrupt in the ${where} segment the download fails cleanly`, !broken.identical && (where === 'first' ? broken.status === 503 : broken.status === 200), `status ${broken.status} ${broken.error?.slice(0, 160) ?? ''}`);
          ctx.check(`and delivers exactly the verified bytes before that segment (${boundary})`, broken.prefixOk && length === boundary, `${length} bytes`);
        }
      } finally {
        await Promise.all(clients.map((c) => c.close()));
        await helper.kill();
        await Promise.all(storage.map((s) => s.kill()));
      }
    },
  };
}
