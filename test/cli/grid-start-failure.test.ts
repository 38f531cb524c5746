/**
 * A grid whose helper cannot start (its port or its admin port is taken)
 * leaves nothing behind: the storage servers it had started stop listening,
 * and the helper's state (its job store lock, its worker threads) is released,
 * so the same home starts cleanly once the port is free.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalGrid } from '../../cli/local-grid.js';
import { tempDir } from '../support/tmp.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function occupiedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

/** Ports this process listens on (TCP sockets in LISTEN state whose descriptor it holds). */
async function listeningPorts(): Promise<Set<number>> {
  const inodes = new Set<string>();
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) inodes.add(m[1]);
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is HEX_IP:HEX_PORT, st 0A is LISTEN, the inode is column 9.
      if (cols.length > 9 && cols[3] === '0A' && inodes.has(cols[9])) ports.add(parseInt(cols[1].split(':')[1], 16));
    }
  }
  return ports;
}

describe.runIf(process.platform === 'linux')('ferry grid start-up failure', () => {
  it.each([
    ['the helper port', 'port'],
    ['the admin port', 'adminPort'],
  ] as const)('%s in use: nothing it started still listens, and the home starts again', async (_label, which) => {
    const { dir, cleanup } = await tempDir('ferry-grid-fail-');
    cleanups.push(cleanup);
    const busy = await occupiedPort();
    const before = await listeningPorts();
    expect(before.has(busy)).toBe(true); // the probe sees this process's listeners

    const ports = which === 'port' ? { port: busy, adminPort: 0 } : { port: 0, adminPort: busy };
    await expect(startLocalGrid({ home: dir, servers: 3, ...ports })).rejects.toThrow(/in use/);
    expect([...(await listeningPorts())].filter((p) => !before.has(p))).toEqual([]);

    // The job store lock was released: the same home starts.
    const grid = await startLocalGrid({ home: dir, servers: 3, port: 0, adminPort: 0 });
    cleanups.push(() => grid.close());
    expect((await listeningPorts()).size).toBeGreaterThanOrEqual(before.size + 4);
  });
});
