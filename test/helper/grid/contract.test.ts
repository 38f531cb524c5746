/**
 * The storage-client contract the helper relies on, run against StorageClient
 * over a real storage server in a temp dir and against the in-memory grid the
 * unit tests use: if the fake drifts from the server, this fails.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatStorageIndex } from '../../../core/storage-index.js';
import type { GridClient } from '../../../helper/grid/grid.js';
import { StorageClient } from '../../../storage/client.js';
import { startStorageServer, type RunningStorageServer } from '../../../storage/server.js';
import { GRID_TOKEN } from '../../support/grid.js';
import { tempDir } from '../../support/tmp.js';
import { MemoryStorage } from './memory-grid.js';

interface Subject {
  client: GridClient;
  close(): Promise<void>;
}

const subjects: Record<string, () => Promise<Subject>> = {
  'StorageClient over a storage server': async () => {
    const tmp = await tempDir();
    let server: RunningStorageServer | undefined;
    let client: StorageClient | undefined;
    try {
      server = await startStorageServer({ dir: path.join(tmp.dir, 'storage'), token: GRID_TOKEN, sweepOnStart: false, closeGraceMs: 200 });
      client = new StorageClient({ url: server.url, token: GRID_TOKEN });
    } catch (err) {
      await server?.close();
      await tmp.cleanup();
      throw err;
    }
    const running = server;
    const c = client;
    return {
      client: c,
      close: async () => {
        await c.close();
        await running.close();
        await tmp.cleanup();
      },
    };
  },
  'in-memory grid': async () => ({ client: new MemoryStorage('m0'), close: async () => undefined }),
};

const newSi = () => formatStorageIndex(randomBytes(16));

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return String((err as { code?: unknown }).code);
  }
  return 'resolved';
}

async function readAll(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of body) parts.push(chunk);
  return Buffer.concat(parts);
}

for (const [name, open] of Object.entries(subjects)) {
  describe(`grid client contract: ${name}`, () => {
    let subject: Subject;
    beforeAll(async () => {
      subject = await open();
    });
    afterAll(async () => {
      await subject?.close();
    });

    it('names itself', async () => {
      const info = await subject.client.info();
      expect(typeof info.serverId).toBe('string');
      expect(info.serverId.length).toBeGreaterThan(0);
    });

    it('lists nothing for a file it does not hold, and reading it is NOT_FOUND', async () => {
      const si = newSi();
      expect(await subject.client.list(si)).toEqual([]);
      expect(await codeOf(subject.client.read(si, 0, 0, 10))).toBe('NOT_FOUND');
    });

    it('a share is listed only once every byte arrived; writes report completion', async () => {
      const { client } = subject;
      const si = newSi();
      const bytes = randomBytes(1000);
      const alloc = await client.allocate(si, bytes.length, [0, 1]);
      expect(alloc.alreadyHave).toEqual([]);
      expect(alloc.allocated.sort()).toEqual([0, 1]);
      expect(alloc.missing['0']).toEqual([[0, 1000]]);
      expect((await client.write(si, 0, 0, bytes.subarray(0, 600))).complete).toBe(false);
      expect(await client.list(si)).toEqual([]);
      expect((await client.write(si, 0, 600, bytes.subarray(600))).complete).toBe(true);
      expect(await client.list(si)).toEqual([0]);
      const again = await client.allocate(si, bytes.length, [0]);
      expect(again.alreadyHave).toEqual([0]);
      expect(again.allocated).toEqual([]);
    });

    it('a partial share is resumed: allocating again names only the missing ranges', async () => {
      const { client } = subject;
      const si = newSi();
      const bytes = randomBytes(1000);
      await client.allocate(si, bytes.length, [3]);
      await client.write(si, 3, 0, bytes.subarray(0, 400));
      const alloc = await client.allocate(si, bytes.length, [3]);
      expect(alloc.allocated).toEqual([3]);
      expect(alloc.missing['3']).toEqual([[400, 1000]]);
    });

    it('reads are clamped at the end of the share, and a stream gives the same bytes', async () => {
      const { client } = subject;
      const si = newSi();
      const bytes = randomBytes(500);
      await client.allocate(si, bytes.length, [2]);
      await client.write(si, 2, 0, bytes);
      expect(Buffer.from(await client.read(si, 2, 100, 200)).equals(bytes.subarray(100, 200))).toBe(true);
      expect(Buffer.from(await client.read(si, 2, 400, 900)).equals(bytes.subarray(400))).toBe(true);
      const stream = await client.readStream(si, 2, 10, 300);
      expect((await readAll(stream.body)).equals(bytes.subarray(10, 300))).toBe(true);
      expect(await codeOf(client.read(si, 2, 600, 700))).toBe('RANGE_NOT_SATISFIABLE');
    });

    it('abort drops a partial share', async () => {
      const { client } = subject;
      const si = newSi();
      await client.allocate(si, 100, [4]);
      await client.write(si, 4, 0, randomBytes(50));
      await client.abort(si, 4);
      const alloc = await client.allocate(si, 100, [4]);
      expect(alloc.missing['4']).toEqual([[0, 100]]);
    });

    it('takes corruption reports and renews leases on what it holds', async () => {
      const { client } = subject;
      const si = newSi();
      const bytes = randomBytes(100);
      await client.allocate(si, bytes.length, [0]);
      await client.write(si, 0, 0, bytes);
      await client.reportCorruption(si, 0, 'test: block 0 fails its hash');
      const lease = await client.renewLease(si);
      expect(lease.expiresAt).toBeGreaterThan(Date.now());
    });
  });
}
