import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isFerryError } from '../../core/errors.js';
import { Journal } from '../../client/journal.js';
import { upload, type UploadOptions, type UploadProgress } from '../../client/upload.js';
import { CLIENT_TOKEN, GRID_TOKEN, type TestGrid } from '../support/grid.js';
import { reassembleCap } from '../support/reassemble.js';
import { perTest } from '../support/per-test.js';

const each = perTest();

async function workspace(): Promise<string> {
  const t = { dir: await each.dir('ferry-client-') };
  return t.dir;
}

async function readBack(g: TestGrid, cap: string): Promise<Buffer> {
  return reassembleCap({ urls: g.storage.map((s) => s!.url), token: GRID_TOKEN }, cap);
}

const SMALL = { maxSegmentSize: 64 * 1024, retry: { baseMs: 20, maxMs: 200 }, pollIntervalMs: 50 } satisfies Partial<UploadOptions>;

/** What this process's fds point at (Linux): paths, or socket:[inode]. */
function fdTargets(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out.push(readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/** Connections this process holds open to `port` (client side), from /proc/net/tcp matched by socket inode. */
function socketsTo(port: number): number {
  const inodes = new Set(fdTargets().flatMap((t) => /^socket:\[(\d+)\]$/.exec(t)?.[1] ?? []));
  let n = 0;
  let read = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
      read++;
    } catch {
      continue;
    }
    for (const line of text.trim().split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (parseInt(f[2].split(':')[1], 16) === port && inodes.has(f[9])) n++;
    }
  }
  // Unreadable tables would make "no socket" meaningless.
  if (read === 0) throw new Error('cannot read /proc/net/tcp: socket counting does not work here');
  return n;
}

describe('client upload()', () => {
  it('uploads, verifies and returns a read-cap whose shares decode to the file; a second upload finds it present', async () => {
    const grid = await each.grid();
    const dir = await workspace();
    const file = path.join(dir, 'a.bin');
    const plain = randomBytes(700_001);
    await writeFile(file, plain);
    const phases = new Set<string>();
    const o: UploadOptions = { helperUrl: grid.helper.url, token: CLIENT_TOKEN, stateDir: path.join(dir, 'state'), ...SMALL, onProgress: (p) => phases.add(p.phase) };
    const r = await upload(file, o);
    expect(r).toMatchObject({ outcome: 'uploaded', hashed: true, resumedFrom: 0, size: plain.length, k: 3, n: 10, happy: 7, keyMode: 'convergent', sentBytes: plain.length });
    expect([...phases]).toEqual(['hashing', 'checking', 'uploading', 'encoding', 'done']);
    expect((await readBack(grid, r.cap)).equals(plain)).toBe(true);
    // State dir private; the journal forgets finished transfers.
    expect((await stat(path.join(dir, 'state'))).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(dir, 'state', 'convergence-secret'))).mode & 0o777).toBe(0o600);
    expect(await new Journal(path.join(dir, 'state', 'journal')).list()).toEqual([]);

    const again = await upload(file, o);
    expect(again).toMatchObject({ outcome: 'already-present', cap: r.cap, sentBytes: 0 });
  });

  it('uploads an empty file and a random-key file', async () => {
    const grid = await each.grid();
    const dir = await workspace();
    const empty = path.join(dir, 'empty');
    await writeFile(empty, '');
    const o: UploadOptions = { helperUrl: grid.helper.url, token: CLIENT_TOKEN, stateDir: path.join(dir, 'state'), ...SMALL };
    const e = await upload(empty, o);
    expect(e.cap).toMatch(/:0$/);
    expect((await readBack(grid, e.cap)).length).toBe(0);

    const file = path.join(dir, 'r.bin');
    const plain = randomBytes(200_000);
    await writeFile(file, plain);
    const r1 = await upload(file, { ...o, randomKey: true });
    const r2 = await upload(file, { ...o, randomKey: true });
    expect(r1.cap).not.toBe(r2.cap);
    expect(r1.keyMode).toBe('random');
    expect((await readBack(grid, r1.cap)).equals(plain)).toBe(true);
  });

  it('aborts without leaking sockets or fds, then resumes from the journal without hashing again', async () => {
    const grid = await each.grid({ helper: { limits: { commitEvery: 64 * 1024 } } });
    const dir = await workspace();
    const file = path.join(dir, 'big.bin');
    const plain = randomBytes(12 * 1024 * 1024);
    await writeFile(file, plain);
    const o: UploadOptions = { helperUrl: grid.helper.url, token: CLIENT_TOKEN, stateDir: path.join(dir, 'state'), ...SMALL, chunkSize: 1024 * 1024 };
    // Positive control: the count sees a connection this process opens to the helper.
    const probe = net.connect(grid.helper.port, '127.0.0.1');
    await once(probe, 'connect');
    expect(socketsTo(grid.helper.port)).toBe(1);
    probe.destroy();
    await once(probe, 'close');
    const ac = new AbortController();
    let err: unknown;
    await upload(file, {
      ...o,
      signal: ac.signal,
      onProgress: (p: UploadProgress) => {
        if (p.phase === 'uploading' && p.bytes > 3 * 1024 * 1024) ac.abort();
      },
    }).catch((e: unknown) => (err = e));
    expect(isFerryError(err) && err.code).toBe('ABORTED');
    // Nothing of the client is left: no connection to the helper, no handle on the file.
    expect(socketsTo(grid.helper.port)).toBe(0);
    expect(fdTargets().filter((t) => t === file)).toEqual([]);

    const [pending] = await new Journal(path.join(dir, 'state', 'journal')).list();
    expect(pending).toMatchObject({ state: 'uploading', file: { size: plain.length } });

    const phases = new Set<string>();
    const r = await upload(file, { ...o, onProgress: (p) => phases.add(p.phase) });
    expect(phases.has('hashing')).toBe(false);
    expect(r.hashed).toBe(false);
    expect(r.resumedFrom).toBeGreaterThan(0);
    expect(r.sentBytes).toBe(plain.length - r.resumedFrom);
    expect((await readBack(grid, r.cap)).equals(plain)).toBe(true);
  });

  it('fails fast with one clear error for a wrong token or an unreachable helper', async () => {
    const grid = await each.grid();
    const dir = await workspace();
    const file = path.join(dir, 'x');
    await writeFile(file, 'x');
    const base = { stateDir: path.join(dir, 'state'), ...SMALL };
    await expect(upload(file, { ...base, helperUrl: grid.helper.url, token: 'wrong-token-0123456789' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const url = grid.helper.url;
    await grid.close(); // closing it again after the test is harmless
    await expect(upload(file, { ...base, helperUrl: url, token: CLIENT_TOKEN })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});
