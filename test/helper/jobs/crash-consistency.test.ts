/**
 * A hash-list replacement is one write (issue 13): a helper that dies after
 * its first write to the job store never comes back with a job whose
 * crypttext root is not the root of the segment hashes it holds.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MerkleTree, splitHashes } from '../../../core/merkle.js';
import { CheckService } from '../../../helper/intake/check-service.js';
import { SpoolFiles } from '../../../helper/intake/spool-files.js';
import { JobStore } from '../../../helper/jobs/job-store.js';
import { impostor } from '../../support/hostile.js';
import { checkBody, prepare } from '../../support/prepare.js';
import { tempDir } from '../../support/tmp.js';

const WRITES = ['create', 'update', 'setState', 'delete', 'replaceSegmentHashes'] as const;

/** From now on the store takes `allowed` more writes, then every write throws as if the process died. */
function crashAfter(store: JobStore, allowed: number): void {
  let left = allowed;
  const target = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const name of WRITES) {
    const real = target[name].bind(store);
    target[name] = (...args) => (left-- > 0 ? real(...args) : Promise.reject(new Error(`crash before ${name}`)));
  }
}

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  tmp = await tempDir();
});
afterEach(() => tmp.cleanup());

describe('job store after a crash between writes', () => {
  it('holds hashes whose root is the job crypttext root after a takeover interrupted at its second write', async () => {
    const dbDir = path.join(tmp.dir, 'jobs');
    const files = new SpoolFiles(tmp.dir);
    await files.init();
    const store = new JobStore(dbDir);
    await store.open();
    const checks = (jobs: JobStore) =>
      new CheckService({ jobs, files, servers: async () => [], limits: { maxFileSize: 1 << 30, minSegmentSize: 64 * 1024, maxSegments: 1 << 20, maxCodedSegmentBytes: 256 << 20, holdingQuota: 0, takeoverIdle: 0 }, reserved: () => 0, spoolComplete: async () => undefined, intakePaused: () => false, source: {} });
    const file = await prepare(randomBytes(3 * 4096), { k: 2, n: 4, maxSegmentSize: 4096 });
    try {
      await checks(store).check(checkBody(file, 3), 'owner-a');
      crashAfter(store, 1);
      await checks(store)
        .check(checkBody(impostor(file), 3), 'owner-b')
        .catch(() => undefined);
    } finally {
      await store.close();
    }

    const reopened = new JobStore(dbDir);
    await reopened.open();
    try {
      const job = await reopened.require(file.si);
      const hashes = await reopened.segmentHashes(file.si);
      expect(new MerkleTree(splitHashes(hashes)).root.toString('hex')).toBe(job.crypttextRoot);
    } finally {
      await reopened.close();
    }
  });
});
