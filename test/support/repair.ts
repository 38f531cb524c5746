import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { parseReadCap, formatVerifyCap, verifyCapOf, type VerifyCap } from '../../core/capability.js';
import { storageIndexFromKey } from '../../core/storage-index.js';
import { listen } from '../../runtime/http/listen.js';
import { Helper } from '../../helper/helper.js';
import type { RepairOptions } from '../../helper/repair/service.js';
import { helperApp, storageClientFactory, type RunningHelper } from '../../helper/start.js';
import { StorageClient } from '../../storage/client.js';
import { shareFiles, type StoredFile } from './gateway-fixture.js';
import { CLIENT_TOKEN, GRID_TOKEN, type TestGrid } from './grid.js';
import { encodeInMemory } from './memory-shares.js';
import { prepare, type PreparedFile } from './prepare.js';
import { reassemble } from './reassemble.js';

export type Json = Record<string, unknown>;

/** The repair and check-file routes as a client calls them. */
export class RepairCalls {
  constructor(
    readonly url: string,
    readonly token = CLIENT_TOKEN,
  ) {}

  private async post(path: string, body: unknown): Promise<{ status: number; json: Json }> {
    const res = await fetch(`${this.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Json };
  }

  checkFile(body: Json) {
    return this.post('/helper/v1/check-file', body);
  }

  repair(body: Json) {
    return this.post('/helper/v1/repair', body);
  }

  async job(si: string): Promise<Json> {
    const res = await fetch(`${this.url}/helper/v1/jobs/${si}`, { headers: { authorization: `Bearer ${this.token}` } });
    return (await res.json()) as Json;
  }

  /** Polls until the job is in one of `states` (a repair's first failure counts: attempts > 1 with an error). */
  async waitFor(si: string, states: string[] = ['done', 'failed'], timeoutMs = 30_000): Promise<Json> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const job = await this.job(si);
      if (states.includes(String(job.state))) return job;
      if (states.includes('failed') && Number(job.attempts) > 1 && job.lastError) return { ...job, state: 'failed' };
      if (Date.now() > end) throw new Error(`job ${si} still ${String(job.state)} after ${timeoutMs} ms: ${JSON.stringify(job)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

export function verifyCapText(stored: StoredFile): string {
  return formatVerifyCap(verifyCapOf(parseReadCap(stored.cap)));
}

/** shnum -> indexes of the running storage servers that list it. */
export async function holdings(grid: TestGrid, si: string): Promise<Map<number, number[]>> {
  const out = new Map<number, number[]>();
  for (let i = 0; i < grid.storage.length; i++) {
    const s = grid.storage[i];
    if (!s) continue;
    const c = new StorageClient({ url: s.url, token: GRID_TOKEN });
    try {
      for (const shnum of await c.list(si)) out.set(shnum, [...(out.get(shnum) ?? []), i]);
    } finally {
      await c.close();
    }
  }
  return out;
}

/** Every share file of `si`, read into memory: shnum -> bytes (the first copy found). */
export async function shareBytes(grid: TestGrid, si: string): Promise<Map<number, Buffer>> {
  const out = new Map<number, Buffer>();
  for (const f of await shareFiles(grid, si)) if (!out.has(f.shnum)) out.set(f.shnum, await readFile(f.file));
  return out;
}

/** Deletes the share files of the given share numbers from every server's disk. */
export async function deleteShares(grid: TestGrid, si: string, shnums: number[]): Promise<void> {
  for (const f of await shareFiles(grid, si)) if (shnums.includes(f.shnum)) await rm(f.file);
}

/** Reads, verifies, decodes and decrypts the file from the running servers (except `skip`: servers holding known-bad copies). */
export async function readBack(grid: TestGrid, stored: StoredFile, skip: number[] = []): Promise<Buffer> {
  const cap = parseReadCap(stored.cap);
  const urls = grid.storage.flatMap((s, i) => (s && !skip.includes(i) ? [s.url] : []));
  return reassemble({ urls, token: GRID_TOKEN, si: stored.f.si, key: cap.key, uebHash: cap.uebHash });
}

/** Downloads the file through the helper's gateway (GET /uri/<read-cap>). */
export async function download(helperUrl: string, cap: string): Promise<Buffer> {
  const res = await fetch(`${helperUrl}/uri/${cap}`);
  if (res.status !== 200) throw new Error(`GET /uri answered ${res.status}: ${await res.text()}`);
  return Buffer.from(await res.arrayBuffer());
}

/** A helper on the grid's config and data dir, with repair options (hooks) that startGrid cannot pass. */
export async function startRepairHelper(grid: TestGrid, repair: RepairOptions): Promise<RunningHelper> {
  const helper = await Helper.open({ config: grid.config, clientFactory: storageClientFactory(grid.config.limits.connectionsPerServer), repair });
  const l = await listen(helperApp(helper), { host: '127.0.0.1', port: 0 });
  const running: RunningHelper = {
    helper,
    url: l.url,
    port: l.port,
    close: async () => {
      await l.close();
      await helper.close();
    },
  };
  grid.helper = running;
  return running;
}

export interface Built {
  f: PreparedFile;
  shares: Buffer[];
  cap: VerifyCap;
}

/** Encodes a file into its n shares in memory, as the helper would. */
export async function buildShares(size: number, params = { k: 3, n: 10, maxSegmentSize: 4096 }): Promise<Built> {
  const f = await prepare(randomBytes(size), params);
  const g = f.geometry;
  const enc = encodeInMemory(f.ciphertext, g);
  return { f, shares: enc.shares, cap: { kind: 'verify', storageIndex: storageIndexFromKey(f.key), uebHash: enc.uebHash, k: g.k, n: g.n, size } };
}
