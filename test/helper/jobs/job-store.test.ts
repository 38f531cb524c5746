import path from 'node:path';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobStore } from '../../../helper/jobs/job-store.js';
import { newJob } from '../../../helper/jobs/job.js';
import { tempDir } from '../../support/tmp.js';

const SI = 'aaaaaaaaaaaaaaaaaaaaaaaaaa';
const params = { size: 10, k: 1, n: 2, happy: 1, maxSegmentSize: 1024 };

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  tmp = await tempDir();
});
afterEach(() => tmp.cleanup());

describe('job store', () => {
  it('reads a job stored before jobs had a kind as an upload', async () => {
    const dir = path.join(tmp.dir, 'jobs');
    const { kind: _kind, ...legacy } = newJob({ si: SI, state: 'done', params, crypttextRoot: '00' }, 1);
    const db = new Level<string, string>(dir);
    await db.sublevel<string, object>('jobs', { valueEncoding: 'json' }).put(SI, legacy);
    await db.close();

    const store = new JobStore(dir);
    await store.open();
    try {
      expect(await store.require(SI)).toMatchObject({ si: SI, kind: 'upload', state: 'done' });
      expect((await store.list()).map((j) => j.kind)).toEqual(['upload']);
    } finally {
      await store.close();
    }
  });

  it('keeps the kind and the repair spec of a repair job', async () => {
    const store = new JobStore(path.join(tmp.dir, 'jobs'));
    await store.open();
    try {
      const repair = { verifyCap: 'ferry-chk-verify:x', verify: false };
      await store.create(newJob({ si: SI, kind: 'repair', state: 'queued', params, crypttextRoot: '', repair }, 1), new Uint8Array(0));
      expect(await store.require(SI)).toMatchObject({ kind: 'repair', repair });
    } finally {
      await store.close();
    }
  });
});
