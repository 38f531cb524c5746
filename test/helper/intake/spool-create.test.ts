/**
 * A new upload's spool file is durable before the upload is acknowledged
 * (issue 13, item 3): create the file, fsync incoming/, then record the job
 * and answer `send`. A failing directory fsync means no job and no answer.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckService } from '../../../helper/intake/check-service.js';
import { SpoolFiles } from '../../../helper/intake/spool-files.js';
import { JobStore } from '../../../helper/jobs/job-store.js';
import { fsyncDir } from '../../../runtime/fs/durable.js';
import { checkBody, prepare } from '../../support/prepare.js';
import { tempDir } from '../../support/tmp.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let store: JobStore;
beforeEach(async () => {
  tmp = await tempDir();
  store = new JobStore(path.join(tmp.dir, 'jobs'));
  await store.open();
});
afterEach(async () => {
  await store.close();
  await tmp.cleanup();
});

function checks(files: SpoolFiles): CheckService {
  return new CheckService({ jobs: store, files, servers: async () => [], limits: { maxFileSize: 1 << 30, minSegmentSize: 64 * 1024, maxSegments: 1 << 20, maxCodedSegmentBytes: 256 << 20, holdingQuota: 0, takeoverIdle: 0 }, reserved: () => 0, spoolComplete: async () => undefined, intakePaused: () => false, source: {} });
}

describe('creating a spool', () => {
  it('creates the file, fsyncs incoming/, and only then records the job and answers', async () => {
    const file = await prepare(randomBytes(10_000));
    const steps: string[] = [];
    const files = new SpoolFiles(tmp.dir, async (dir) => {
      steps.push(`fsync ${path.basename(dir)}: file ${existsSync(files.incomingPath(file.si)) ? 'exists' : 'missing'}, job ${(await store.get(file.si)) ? 'recorded' : 'not recorded'}`);
      await fsyncDir(dir);
    });
    await files.init();
    steps.length = 0; // init's own directories do not count
    const answer = await checks(files).check(checkBody(file, 3), 'owner');
    steps.push(`answer ${answer.status}`);
    expect(steps).toEqual(['fsync incoming: file exists, job not recorded', 'answer send']);
    expect((await store.require(file.si)).state).toBe('receiving');
  });

  it('a failing directory fsync fails the check: no job, no answer', async () => {
    const file = await prepare(randomBytes(10_000));
    const files = new SpoolFiles(tmp.dir, async () => {
      throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO', syscall: 'fsync' });
    });
    await files.init();
    await expect(checks(files).check(checkBody(file, 3), 'owner')).rejects.toMatchObject({ code: 'EIO' });
    expect(await store.get(file.si)).toBeUndefined();
  });
});
