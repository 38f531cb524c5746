/**
 * The gateway when things go wrong: corrupt shares, dead and hanging
 * servers, clients that leave mid-stream, shares that run out after the
 * headers were sent.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { parseReadCap, verifyCapOf } from '../../../core/capability.js';
import { cipherReady, SeekableCipher } from '../../../core/crypto/cipher.js';
import { PlaintextReader, PLAINTEXT_BUFFER_BYTES } from '../../../helper/gateway/file-reader.js';
import { layoutFor } from '../../../core/share-layout.js';
import type { GridClient } from '../../../helper/grid/grid.js';
import type { StorageClient } from '../../../storage/client.js';
import { startGrid, type TestGrid } from '../../support/grid.js';
import { corruptBlock, corruptionReports, delegate, openShareFiles, putFile, scramble, shareFiles, SMALL, standaloneGateway } from '../../support/gateway-fixture.js';

let grid: TestGrid | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  await grid?.close();
  grid = undefined;
});

async function fetchAll(target: string): Promise<{ status: number; body: Buffer; json?: Record<string, unknown> }> {
  const res = await fetch(target);
  const body = Buffer.from(await res.arrayBuffer());
  let json: Record<string, unknown> | undefined;
  if (res.headers.get('content-type')?.startsWith('application/json')) json = JSON.parse(body.toString()) as Record<string, unknown>;
  return { status: res.status, body, json };
}

async function until(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** ESTABLISHED TCP connections whose local port is one of `ports` (the server ends of connections to them). */
async function establishedTo(ports: number[]): Promise<number> {
  const want = new Set(ports.map((p) => p.toString(16).toUpperCase().padStart(4, '0')));
  const text = await readFile('/proc/net/tcp', 'utf8').catch(() => '');
  return text
    .split('\n')
    .slice(1)
    .filter((line) => {
      const f = line.trim().split(/\s+/);
      return f.length > 3 && f[3] === '01' && want.has(f[1].split(':')[1]);
    }).length;
}

describe('gateway faults', () => {
  it('corrupt blocks: right bytes anyway (decoded from check shares), each bad share reported to its server, nobody else', async () => {
    grid = await startGrid();
    const stored = await putFile(grid, randomBytes(600_000));
    const files = await shareFiles(grid, stored.f.si);
    expect(files.map((f) => f.shnum)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Segment 4 is damaged in shares 0-6: only the check shares 7, 8, 9 can give it.
    for (const f of files.filter((x) => x.shnum < 7)) await corruptBlock(f.file, stored, 4);
    const g = await standaloneGateway(grid);
    cleanups.push(g.close);
    for (const f of files.filter((x) => x.shnum >= 7)) g.gw.latency.penalize(`s${f.server}`, 60_000); // tried last
    const res = await fetchAll(`${g.url}/uri/${stored.cap}`);
    expect(res.status).toBe(200);
    expect(res.body.equals(stored.plain)).toBe(true);
    expect(g.gw.stats.shareFailures).toBe(7);
    await until(async () => {
      for (const f of files.filter((x) => x.shnum < 7)) {
        const reports = await corruptionReports(grid!, f.server);
        if (!reports.some((r) => r.storageIndex === stored.f.si && r.shareNumber === f.shnum && /block 4/.test(r.reason))) return false;
      }
      return true;
    });
    for (const f of files.filter((x) => x.shnum >= 7)) expect(await corruptionReports(grid, f.server)).toEqual([]);
    await until(() => g.gw.stats.idle);
  });

  it('a corrupt share behind the helper gateway: the download still succeeds', async () => {
    grid = await startGrid();
    const stored = await putFile(grid, randomBytes(300_000));
    for (const f of await shareFiles(grid, stored.f.si)) if (f.shnum % 2 === 0) await corruptBlock(f.file, stored, 1);
    const res = await fetchAll(`${grid.helper.url}/uri/${stored.cap}`);
    expect(res.status).toBe(200);
    expect(res.body.equals(stored.plain)).toBe(true);
  });

  it('only k servers alive: works; k-1 alive: a clean 503 naming how many shares were found', async () => {
    grid = await startGrid();
    const stored = await putFile(grid, randomBytes(300_000));
    for (let i = 0; i < 7; i++) await grid.stopStorage(i);
    const ok = await fetchAll(`${grid.helper.url}/uri/${stored.cap}`);
    expect(ok.status).toBe(200);
    expect(ok.body.equals(stored.plain)).toBe(true);

    await grid.stopStorage(7); // the gateway's cached view still has its share: it finds out, and says so
    const down = await fetchAll(`${grid.helper.url}/uri/${stored.cap}`);
    expect(down.status).toBe(503);
    expect(down.json).toMatchObject({ error: 'NOT_ENOUGH_SHARES', found: 2, needed: 3 });
    expect(String(down.json?.message)).toMatch(/found 2 good shares of the 3 needed/);
  });

  it('the client leaves mid-stream: every share read is aborted; no socket, timer or file handle is left', async () => {
    grid = await startGrid();
    const stored = await putFile(grid, randomBytes(3 * 1024 * 1024));
    const gw = grid.helper.helper.gateway;
    const ports = grid.storage.map((s) => s!.port);
    for (let round = 0; round < 3; round++) {
      await new Promise<void>((resolve, reject) => {
        const req = http.get(`${grid!.helper.url}/uri/${stored.cap}`, (res) => {
          expect(res.statusCode).toBe(200);
          res.once('data', () => {
            // Readers are mid-file with share reads in flight; the client hangs up.
            expect(gw.stats.readersOpen).toBe(1);
            expect(gw.stats.segmentsHeld).toBeGreaterThan(0);
            req.destroy();
            resolve();
          });
        });
        req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
      });
      if (round === 0) expect(await establishedTo(ports)).toBeGreaterThan(0); // the counter does see the pool's sockets
      await until(() => gw.stats.idle, 5_000);
    }
    expect(gw.stats.segmentsServed).toBeLessThan(3 * 48);
    expect(await openShareFiles(grid)).toEqual([]);
    // Pooled keep-alive sockets close when idle (undici 4 s); none stays open or half-used.
    await until(async () => (await establishedTo(ports)) === 0, 15_000);
    expect(gw.stats.snapshot()).toMatchObject({ shareReadsInFlight: 0, timersArmed: 0, readersOpen: 0, segmentsHeld: 0 });
  }, 40_000);

  it('a slow reader: backpressure stops the fetching; memory stays within a few segments', async () => {
    grid = await startGrid();
    const stored = await putFile(grid, randomBytes(4 * 1024 * 1024));
    const gw = grid.helper.helper.gateway;
    const cap = parseReadCap(stored.cap);
    // The reader alone, without socket buffers in between: it stops when nobody reads.
    await cipherReady();
    const ctx = await gw.open(verifyCapOf(cap));
    const reader = new PlaintextReader({ ctx, cipher: new SeekableCipher(cap.key), start: 0, end: cap.size, readAhead: 2, stats: gw.stats, events: gw });
    const first = await new Promise<Buffer>((resolve) => reader.once('readable', () => resolve(reader.read() as Buffer)));
    await until(() => gw.stats.shareReadsInFlight === 0);
    await new Promise((r) => setTimeout(r, 200));
    expect(gw.stats.shareReadsInFlight).toBe(0);
    expect(gw.stats.segmentsHeld).toBeLessThanOrEqual(3); // read-ahead, fetched and waiting
    // Decrypted into the stream's buffer: up to PLAINTEXT_BUFFER_BYTES (the last push may overshoot by a segment).
    const segmentSize = ctx.layout.geometry.segmentSize;
    expect(reader.readableLength).toBeLessThanOrEqual(PLAINTEXT_BUFFER_BYTES + segmentSize);
    expect(gw.stats.segmentsServed).toBeLessThanOrEqual(Math.ceil(PLAINTEXT_BUFFER_BYTES / segmentSize) + 2);
    expect(gw.stats.segmentsServed).toBeLessThan(stored.f.geometry.numSegments); // it did stop
    const rest: Buffer[] = [first];
    for await (const chunk of reader) rest.push(chunk as Buffer);
    expect(Buffer.concat(rest).equals(stored.plain)).toBe(true);

    // Over HTTP with a client that reads in small sips: never more than readAhead + 1 segments held.
    const got: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      http.get(`${grid!.helper.url}/uri/${stored.cap}`, (res) => {
        res.on('data', (d: Buffer) => {
          got.push(d);
          res.pause();
          setTimeout(() => res.resume(), 2);
        });
        res.on('end', resolve);
        res.on('error', reject);
      });
    });
    expect(Buffer.concat(got).equals(stored.plain)).toBe(true);
    expect(gw.stats.segmentsHeldPeak).toBeLessThanOrEqual(gw.settings.readAhead + 1);
    await until(() => gw.stats.idle);
  });

  it('shares lost after the headers were sent: the response is cut short, never wrong bytes', async () => {
    grid = await startGrid();
    const stored = await putFile(grid, randomBytes(8 * 1024 * 1024));
    const gw = grid.helper.helper.gateway;
    // Less read-ahead than the file: most of its blocks are still on the servers when they go.
    gw.settings.readAheadBytes = 1024 * 1024;
    const got: Buffer[] = [];
    const outcome = await new Promise<{ complete: boolean; length: number }>((resolve) => {
      http.get(`${grid!.helper.url}/uri/${stored.cap}`, (res) => {
        const length = Number(res.headers['content-length']);
        res.pause();
        void (async () => {
          for (let i = 0; i < 10; i++) await grid!.stopStorage(i);
          res.on('data', (c: Buffer) => got.push(c));
          res.on('end', () => resolve({ complete: res.complete, length }));
          res.on('error', () => resolve({ complete: false, length }));
          res.on('close', () => resolve({ complete: res.complete, length }));
          res.resume();
        })();
      });
    });
    const body = Buffer.concat(got);
    expect(outcome.complete).toBe(false);
    expect(body.length).toBeLessThan(outcome.length);
    expect(body.equals(stored.plain.subarray(0, body.length))).toBe(true);
    await until(() => gw.stats.idle);
    expect(gw.stats.responsesCut).toBe(1);
  });

  it('a server that hangs: its share is abandoned after the timeout and another used', async () => {
    grid = await startGrid();
    const stored = await putFile(grid, randomBytes(400_000));
    let hung = 0;
    let aborted = 0;
    // Lists answer; reads never do.
    const never = (o?: { signal?: AbortSignal }) =>
      new Promise<never>((_, reject) => {
        hung++;
        o?.signal?.addEventListener(
          'abort',
          () => {
            aborted++;
            reject(new Error('aborted'));
          },
          { once: true },
        );
      });
    const hang = (c: StorageClient): GridClient => delegate(c, { read: (_si, _s, _start, _e, o) => never(o), readStream: (_si, _s, _start, _e, o) => never(o) });
    const g = await standaloneGateway(grid, { timeoutMs: 300, restMs: 60_000, wrap: (i, c) => (i === 0 ? hang(c) : c) });
    cleanups.push(g.close);
    g.gw.latency.observe('s0', 0.01); // looks fastest
    const res = await fetchAll(`${g.url}/uri/${stored.cap}`);
    expect(res.status).toBe(200);
    expect(res.body.equals(stored.plain)).toBe(true);
    expect(hung).toBeGreaterThan(0);
    // Every hung read was given up by the gateway's timeout (not left pending while others served).
    await until(() => aborted === hung);
    expect(g.gw.stats.shareFailures).toBeGreaterThanOrEqual(1);
    await until(() => g.gw.stats.idle);
  });

  it('damaged UEB copies and crypttext trees: blocks still used, the damaged copies reported, nobody else blamed', async () => {
    grid = await startGrid();
    const stored = await putFile(grid, randomBytes(500_000));
    const l = layoutFor(stored.plain.length, SMALL.k, SMALL.n, stored.f.geometry.segmentSize);
    const files = await shareFiles(grid, stored.f.si);
    for (const f of files.filter((x) => x.shnum < 9)) {
      await scramble(f.file, l.uebOffset + 50, l.uebOffset + 51, 0xff);
      await scramble(f.file, l.crypttextTreeOffset, l.uebOffset, f.shnum + 1); // each copy wrong differently
    }
    const g = await standaloneGateway(grid);
    cleanups.push(g.close);
    g.gw.latency.penalize('s9', 60_000); // the only good copy is tried last
    const res = await fetchAll(`${g.url}/uri/${stored.cap}`);
    expect(res.status).toBe(200);
    expect(res.body.equals(stored.plain)).toBe(true);
    await until(async () => {
      for (const f of files.filter((x) => x.shnum < 9)) if ((await corruptionReports(grid!, f.server)).length < 2) return false;
      return true;
    });
    expect(await corruptionReports(grid, files[9].server)).toEqual([]);
    expect(g.gw.stats.corruptionReports).toBe(18);
    await until(() => g.gw.stats.idle);
  });

  it('shares that agree on a crypttext proof the segment fails: nobody is blamed, 422', async () => {
    grid = await startGrid();
    const stored = await putFile(grid, randomBytes(200_000));
    const l = layoutFor(stored.plain.length, SMALL.k, SMALL.n, stored.f.geometry.segmentSize);
    // The same change in every copy: as if the uploader had written an inconsistent file.
    for (const f of await shareFiles(grid, stored.f.si)) await scramble(f.file, l.crypttextTreeOffset, l.uebOffset, 0x01);
    const g = await standaloneGateway(grid);
    cleanups.push(g.close);
    const res = await fetchAll(`${g.url}/uri/${stored.cap}`);
    expect(res.status).toBe(422);
    expect(res.json).toMatchObject({ error: 'INTEGRITY_ERROR' });
    expect(String(res.json?.message)).toMatch(/inconsistent/);
    expect(g.gw.stats.corruptionReports).toBe(0);
  });
});
