import { readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import express from 'express';
import { formatReadCap } from '../../core/capability.js';
import type { EncodingParams } from '../../core/params.js';
import { blockRange, layoutFor } from '../../core/share-layout.js';
import { errorHandler, notFoundHandler } from '../../runtime/http/errors.js';
import { listen } from '../../runtime/http/listen.js';
import { Gateway, type GatewayOptions } from '../../helper/gateway/gateway.js';
import { gatewayRouter } from '../../helper/gateway/router.js';
import type { GridClient, GridServer } from '../../helper/grid/grid.js';
import { StorageClient } from '../../storage/client.js';
import { GRID_TOKEN, type TestGrid } from './grid.js';
import { HelperCalls } from './helper-client.js';
import { prepare, type PreparedFile } from './prepare.js';

export const SMALL: EncodingParams = { k: 3, n: 10, maxSegmentSize: 64 * 1024 };

export interface StoredFile {
  cap: string;
  plain: Buffer;
  f: PreparedFile;
  /** shnum -> server ids, from the helper's result. */
  shareMap: Record<string, string[]>;
}

/** Uploads `plain` through the helper (check + PATCH) and waits until its shares are pushed. */
export async function putFile(grid: TestGrid, plain: Buffer, params: EncodingParams = SMALL): Promise<StoredFile> {
  const h = new HelperCalls(grid.helper.url);
  const f = await prepare(plain, params);
  await h.upload(f);
  const job = await h.waitFor(f.si);
  if (job.state !== 'done') throw new Error(`upload ended ${String(job.state)}: ${String(job.lastError)}`);
  const result = job.result as { uebHash: string; shareMap: Record<string, string[]> };
  const cap = formatReadCap({ key: f.key, uebHash: Buffer.from(result.uebHash, 'hex'), k: params.k, n: params.n, size: plain.length });
  return { cap, plain, f, shareMap: result.shareMap };
}

/** Paths of every stored share of `si` under the grid's storage dirs, with their server index. */
export async function shareFiles(grid: TestGrid, si: string): Promise<{ server: number; shnum: number; file: string }[]> {
  const out: { server: number; shnum: number; file: string }[] = [];
  for (let i = 0; i < grid.storage.length; i++) {
    const dir = path.join(grid.dir, `storage-${i}`, 'shares', si.slice(0, 2), si);
    let names: string[] = [];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const n of names) if (/^\d+$/.test(n)) out.push({ server: i, shnum: Number(n), file: path.join(dir, n) });
  }
  return out.sort((a, b) => a.shnum - b.shnum);
}

/** Flips one byte inside block `segment` of a share file. */
export async function corruptBlock(file: string, stored: StoredFile, segment: number, params: EncodingParams = SMALL): Promise<void> {
  const l = layoutFor(stored.plain.length, params.k, params.n, stored.f.geometry.segmentSize);
  const { offset, length } = blockRange(l, segment);
  const bytes = await readFile(file);
  if (bytes.length !== (await stat(file)).size) throw new Error('short read');
  bytes[offset + Math.floor(length / 2)] ^= 0x5a;
  await writeFile(file, bytes);
}

/** Corruption reports a storage server recorded (files under its corruption/ dir). */
export async function corruptionReports(grid: TestGrid, server: number): Promise<{ storageIndex: string; shareNumber: number; reason: string }[]> {
  const dir = path.join(grid.dir, `storage-${server}`, 'corruption');
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  return Promise.all(names.filter((n) => n.endsWith('.json')).map(async (n) => JSON.parse(await readFile(path.join(dir, n), 'utf8')) as { storageIndex: string; shareNumber: number; reason: string }));
}

/** Open file descriptors of this process on share files under the grid's dir (storage servers run in-process). */
export async function openShareFiles(grid: TestGrid): Promise<string[]> {
  const out: string[] = [];
  for (const fd of await readdir('/proc/self/fd').catch(() => [] as string[])) {
    try {
      const target = await readlink(`/proc/self/fd/${fd}`);
      if (target.startsWith(grid.dir) && target.includes(`${path.sep}shares${path.sep}`)) out.push(target);
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/**
 * A gateway of its own over the grid's storage servers (ids s0, s1, …), on
 * its own port, so a test can wrap clients (hang, fail) or set latencies.
 */
export async function standaloneGateway(
  grid: TestGrid,
  o: Partial<GatewayOptions> & { wrap?: (i: number, client: StorageClient) => GridClient } = {},
): Promise<{ gw: Gateway; url: string; close(): Promise<void> }> {
  const clients = grid.storage.map((s) => new StorageClient({ url: s!.url, token: GRID_TOKEN }));
  const servers: GridServer[] = clients.map((c, i) => ({ id: `s${i}`, url: grid.storage[i]!.url, client: o.wrap ? o.wrap(i, c) : c }));
  const gw = new Gateway({ servers: () => servers, ...o });
  const app = express();
  app.use(gatewayRouter(gw));
  app.use(notFoundHandler);
  app.use(errorHandler());
  const l = await listen(app, { host: '127.0.0.1', port: 0 });
  return {
    gw,
    url: l.url,
    close: async () => {
      await l.close();
      gw.close();
      await Promise.all(clients.map((c) => c.close()));
    },
  };
}

/** A client that forwards every call to `inner` except those in `overrides` (a test makes one call misbehave). */
export function delegate(inner: GridClient, overrides: Partial<GridClient>): GridClient {
  return {
    info: (o) => inner.info(o),
    list: (si, o) => inner.list(si, o),
    read: (si, s, a, b, o) => inner.read(si, s, a, b, o),
    readStream: (si, s, a, b, o) => inner.readStream(si, s, a, b, o),
    allocate: (si, size, shnums, o) => inner.allocate(si, size, shnums, o),
    write: (si, s, off, data, o) => inner.write(si, s, off, data, o),
    reportCorruption: (si, s, reason, o) => inner.reportCorruption(si, s, reason, o),
    renewLease: (si, o) => inner.renewLease(si, o),
    abort: (si, s, o) => inner.abort(si, s, o),
    close: () => inner.close(),
    ...overrides,
  };
}

/** XORs every byte in [start, end) of a file with `mask`. */
export async function scramble(file: string, start: number, end: number, mask: number): Promise<void> {
  const bytes = await readFile(file);
  for (let i = start; i < end; i++) bytes[i] ^= mask;
  await writeFile(file, bytes);
}
