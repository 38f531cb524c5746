import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErasureCodec } from '../../core/erasure/index.js';
import { isFerryError } from '../../core/errors.js';
import { upload } from '../../client/upload.js';
import { CLIENT_TOKEN } from '../support/grid.js';
import { perTest } from '../support/per-test.js';

const each = perTest();

describe('a helper that goes away while the client waits for its job', () => {
  it('each retry is reported (what failed, n of N) and the upload then fails with the reason, not a silent wait', async () => {
    // The helper's encode waits at the first segment until the test lets it go: the client is then polling the job.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const grid = await each.grid({
      encode: async (k, n, blocks) => {
        await gate;
        return new ErasureCodec(k, n).encode(blocks.map((b) => new Uint8Array(b)));
      },
    });
    const dir = await each.dir('ferry-vanish-');
    const file = path.join(dir, 'f');
    await writeFile(file, randomBytes(300_000));
    const retries: string[] = [];
    let encoding: () => void = () => undefined;
    const waiting = new Promise<void>((r) => (encoding = r));
    const put = upload(file, {
      helperUrl: grid.helper.url,
      token: CLIENT_TOKEN,
      stateDir: path.join(dir, 'state'),
      maxSegmentSize: 64 * 1024,
      pollIntervalMs: 20,
      retry: { attempts: 3, baseMs: 10, maxMs: 20 },
      onProgress: (p) => p.phase === 'encoding' && encoding(),
      onRetry: (err, n, of) => retries.push(`${n}/${of} ${err.message}`),
    });
    const outcome = put.then(
      () => undefined,
      (err: unknown) => err,
    );
    await waiting;
    const closing = grid.helper.close();
    release();
    await closing;

    const err = await outcome;
    expect(isFerryError(err) && err.code).toBe('UNAVAILABLE');
    expect((err as Error).message).toMatch(/^job status: connection failed/);
    expect(retries).toEqual([1, 2, 3].map((n) => expect.stringMatching(new RegExp(`^${n}/3 job status: connection failed`))));
  });
});
