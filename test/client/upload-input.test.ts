import { randomBytes } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isFerryError } from '../../core/errors.js';
import { Journal } from '../../client/journal.js';
import { upload, type UploadOptions } from '../../client/upload.js';
import { CLIENT_TOKEN, GRID_TOKEN } from '../support/grid.js';
import { reassembleCap } from '../support/reassemble.js';
import { perTest } from '../support/per-test.js';

const each = perTest();

const SMALL = { maxSegmentSize: 64 * 1024, retry: { baseMs: 20, maxMs: 200 }, pollIntervalMs: 50 } satisfies Partial<UploadOptions>;

async function journalRecords(stateDir: string): Promise<number> {
  return (await new Journal(path.join(stateDir, 'journal')).list()).length;
}

describe('upload() inputs', () => {
  it('a Buffer, a Readable and an async iterable upload to the cap of the same file, and leave no spool or journal behind', async () => {
    const grid = await each.grid();
    const t = { dir: await each.dir('ferry-input-') };
    const stateDir = path.join(t.dir, 'state');
    const data = randomBytes(300_000);
    const file = path.join(t.dir, 'f.bin');
    await writeFile(file, data);
    const o = { helperUrl: grid.helper.url, token: CLIENT_TOKEN, stateDir, ...SMALL };

    const fromPath = await upload(file, o);
    const fromBuffer = await upload(data, o);
    const fromStream = await upload(Readable.from([data.subarray(0, 12_345), data.subarray(12_345)]), o);
    async function* chunks() {
      for (let i = 0; i < data.length; i += 100_000) yield data.subarray(i, i + 100_000);
    }
    const fromIterable = await upload(chunks(), o);

    expect(new Set([fromPath.cap, fromBuffer.cap, fromStream.cap, fromIterable.cap]).size).toBe(1);
    expect(fromBuffer.outcome).toBe('already-present'); // convergent: the same bytes are the same file
    expect((await reassembleCap({ urls: grid.storage.map((s) => s!.url), token: GRID_TOKEN }, fromStream.cap)).equals(data)).toBe(true);
    expect(await readdir(path.join(stateDir, 'spool'))).toEqual([]);
    expect(await journalRecords(stateDir)).toBe(0);
  });

  it('a stream that fails is an INVALID_PARAMETERS error naming it, and its spool file is gone', async () => {
    const t = { dir: await each.dir('ferry-input-') };
    const stateDir = path.join(t.dir, 'state');
    const broken = new Readable({
      read() {
        this.destroy(new Error('disk on fire'));
      },
    });
    const err = await upload(broken, { helperUrl: 'http://127.0.0.1:9', token: CLIENT_TOKEN, stateDir }).catch((e: unknown) => e);
    expect(isFerryError(err) && err.code).toBe('INVALID_PARAMETERS');
    expect((err as Error).message).toMatch(/input stream: disk on fire/);
    expect(await readdir(path.join(stateDir, 'spool'))).toEqual([]);
  });

  it('an aborted spool is ABORTED, like every other step of an upload, and leaves no spool file', async () => {
    const t = { dir: await each.dir('ferry-input-') };
    const stateDir = path.join(t.dir, 'state');
    const controller = new AbortController();
    const endless = new Readable({
      read() {
        this.push(Buffer.alloc(64 * 1024));
        controller.abort();
      },
    });
    const err = await upload(endless, { helperUrl: 'http://127.0.0.1:9', token: CLIENT_TOKEN, stateDir, signal: controller.signal }).catch((e: unknown) => e);
    expect(isFerryError(err) && err.code).toBe('ABORTED');
    expect(await readdir(path.join(stateDir, 'spool'))).toEqual([]);
  });

  it('without stateDir, state goes where the CLI keeps it (FERRY_STATE_DIR here)', async () => {
    const grid = await each.grid();
    const t = { dir: await each.dir('ferry-input-') };
    const before = process.env.FERRY_STATE_DIR;
    process.env.FERRY_STATE_DIR = path.join(t.dir, 'default-state');
    try {
      await upload(Buffer.from('small file, default state dir'), { helperUrl: grid.helper.url, token: CLIENT_TOKEN, ...SMALL });
    } finally {
      if (before === undefined) delete process.env.FERRY_STATE_DIR;
      else process.env.FERRY_STATE_DIR = before;
    }
    expect((await readdir(path.join(t.dir, 'default-state'))).sort()).toEqual(['convergence-secret', 'journal', 'spool']);
  });
});
