import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../runtime/log.js';
import { newJob, type Job } from '../../../helper/jobs/job.js';
import { JobStore } from '../../../helper/jobs/job-store.js';
import { EarlyStop, JobQueue, type JobRunner } from '../../../helper/jobs/queue.js';
import { tempDir } from '../../support/tmp.js';

/** The queue over a real job store in a temp dir; runners are the test's. */
const PARAMS = { size: 10, k: 3, n: 10, happy: 7, maxSegmentSize: 1024 };
const si = (i: number) => `${'a'.repeat(25)}${'abcdefghijklmnopqrstuvwxyz'[i]}`;

/** Resolves when `check()` holds, polling the store's change events (no fixed sleeps). */
async function until(store: JobStore, check: () => Promise<boolean> | boolean, deadlineMs = 10_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met before the deadline');
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 20);
      store.once('change', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

describe('JobQueue', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let store: JobStore;
  const queues: JobQueue[] = [];

  const open = async () => {
    const s = new JobStore(path.join(dir, 'jobs'));
    await s.open();
    return s;
  };
  const queue = (run: JobRunner, o: Partial<{ concurrency: number; baseBackoffMs: number; maxBackoffMs: number; maxAttempts: number; servers: () => number }> = {}) => {
    const q = new JobQueue(store, run, { concurrency: 2, baseBackoffMs: 20, maxBackoffMs: 80, maxAttempts: 100, ...o }, silentLogger());
    queues.push(q);
    return q;
  };
  const add = async (i: number, state: Job['state'] = 'queued') => {
    await store.create(newJob({ si: si(i), state, params: PARAMS, crypttextRoot: '00'.repeat(32), kind: 'upload' }, Date.now()), new Uint8Array(32));
    return si(i);
  };
  /** A runner that marks the job done, as the upload runner does. */
  const finish: JobRunner = async (job) => {
    await store.setState(job.si, 'done', { finishedAt: Date.now() });
  };

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    store = await open();
  });
  afterEach(async () => {
    for (const q of queues.splice(0)) await q.stop();
    await store.close();
    await cleanup();
  });

  it('never runs more jobs at once than its concurrency', async () => {
    let running = 0;
    let peak = 0;
    const q = queue(async (job) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 30));
      running--;
      await finish(job, new AbortController().signal);
    }, { concurrency: 2 });
    const ids = await Promise.all([0, 1, 2, 3, 4].map((i) => add(i)));
    for (const id of ids) q.enqueue(id);
    await until(store, async () => (await store.list((j) => j.state === 'done')).length === ids.length);
    expect(peak).toBe(2);
  });

  it('marks a failing job failed with its error, retries it after a growing backoff, and runs it again', async () => {
    const attempts: number[] = [];
    const q = queue(async (job) => {
      attempts.push(Date.now());
      await store.update(job.si, (j) => (j.attempts += 1));
      if (attempts.length < 3) throw new Error(`storage said no (${attempts.length})`);
      await finish(job, new AbortController().signal);
    });
    const id = await add(0);
    q.enqueue(id);
    await until(store, async () => (await store.require(id)).state === 'failed');
    const failed = await store.require(id);
    expect(failed.lastError).toBe('storage said no (1)');
    expect(failed.nextAttemptAt).toBeGreaterThan(attempts[0]);
    await until(store, async () => (await store.require(id)).state === 'done');
    expect(attempts).toHaveLength(3);
    // The second wait is at least the doubled base (20 ms, then 40 ms).
    expect(attempts[2] - attempts[1]).toBeGreaterThanOrEqual(35);
    expect(q.backoffFor(1)).toBe(20);
    expect(q.backoffFor(2)).toBe(40);
    expect(q.backoffFor(10)).toBe(80);
  });

  it('picks up queued and interrupted jobs, and failed ones after their backoff, when a new queue starts on the same store', async () => {
    const queuedId = await add(0, 'queued');
    const encodingId = await add(1, 'encoding');
    const failedId = await add(2, 'failed');
    await store.update(failedId, (j) => (j.nextAttemptAt = Date.now() + 50));
    const receivingId = await add(3, 'receiving');
    const doneId = await add(4, 'done');
    const ran: string[] = [];
    const q = queue(async (job) => {
      ran.push(job.si);
      await finish(job, new AbortController().signal);
    });
    await q.start();
    await until(store, async () => (await store.list((j) => j.state === 'done')).length === 4);
    expect(ran.sort()).toEqual([queuedId, encodingId, failedId].sort());
    expect((await store.require(receivingId)).state).toBe('receiving');
    expect(ran).not.toContain(doneId);
  });

  it('an aborted job (cancel, shutdown) is not marked failed and is not retried', async () => {
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const q = queue(async (_job, signal) => {
      started();
      await new Promise<void>((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
    });
    const id = await add(0);
    q.enqueue(id);
    await running;
    expect(q.isRunning(id)).toBe(true);
    q.abort(id);
    await q.settled(id);
    expect(q.isRunning(id)).toBe(false);
    const job = await store.require(id);
    expect(job.state).toBe('queued');
    expect(job.lastError).toBeUndefined();
  });

  it('an early start that stops (EarlyStop) leaves the job as it is and is not started early again until queued', async () => {
    const runs: string[] = [];
    const q = queue(async (job) => {
      runs.push(job.state);
      if (job.state === 'receiving') throw new EarlyStop(new Error('spool not there yet'));
      await finish(job, new AbortController().signal);
    });
    const id = await add(0, 'receiving');
    q.startEarly(id);
    await q.settled(id);
    await until(store, () => !q.isRunning(id));
    expect((await store.require(id)).state).toBe('receiving');
    q.startEarly(id); // ignored: its early run already stopped
    expect(q.isRunning(id)).toBe(false);
    await store.setState(id, 'queued');
    q.enqueue(id);
    await until(store, async () => (await store.require(id)).state === 'done');
    expect(runs).toEqual(['receiving', 'queued']);
  });

  it('a queued (not early) run of a job still receiving does nothing: encoding waits for the spool', async () => {
    const runs: string[] = [];
    const q = queue(async (job) => {
      runs.push(job.si);
    });
    const id = await add(0, 'receiving');
    q.enqueue(id);
    await until(store, () => !q.isRunning(id) && q.depth.waiting === 0);
    expect(runs).toEqual([]);
  });

  it('gives a failing job limits.maxAttempts attempts, then fails it for good with a clear reason and no retry', async () => {
    let runs = 0;
    const q = queue(async (job) => {
      runs++;
      await store.update(job.si, (j) => (j.attempts += 1)); // counted before the work, as the runners do
      throw new Error('storage said no');
    }, { maxAttempts: 3, baseBackoffMs: 1, maxBackoffMs: 1 });
    const id = await add(0);
    q.enqueue(id);
    await until(store, async () => {
      const job = await store.require(id);
      return job.state === 'failed' && job.nextAttemptAt === undefined;
    });
    const failed = await store.require(id);
    expect(failed.attempts).toBe(3);
    expect(failed.lastError).toBe('gave up after 3 attempts (limits.maxAttempts); last error: storage said no');
    expect(failed.permanent).toBe(true);
    expect(failed.failureCode).toBe('NO_ATTEMPTS_LEFT');
    expect(runs).toBe(3);
    // A restart does not bring it back either.
    const ran: string[] = [];
    await queue(async (job) => void ran.push(job.si)).start();
    expect(q.depth).toEqual({ running: 0, waiting: 0 });
    expect(ran).toEqual([]);
  });

  it('a job whose attempts crashed the helper (counted, never finished) is failed at start instead of run again', async () => {
    const id = await add(0, 'encoding');
    await store.update(id, (j) => {
      j.attempts = 3; // three starts, each counted its attempt, then the process died
      j.lastError = 'out of memory';
    });
    const ran: string[] = [];
    const q = queue(async (job) => {
      ran.push(job.si);
      await finish(job, new AbortController().signal);
    }, { maxAttempts: 3 });
    await q.start();
    await until(store, async () => ['failed', 'done'].includes((await store.require(id)).state));
    expect(ran).toEqual([]);
    const failed = await store.require(id);
    expect(failed.state).toBe('failed');
    expect(failed.nextAttemptAt).toBeUndefined();
    expect(failed.lastError).toBe('gave up after 3 attempts (limits.maxAttempts); last error: out of memory');
  });

  it('fails a job whose happy exceeds the known servers for good, without running it, and runs it once servers are added', async () => {
    const id = await add(0); // happy 7
    const ran: string[] = [];
    let servers = 3;
    const run: JobRunner = async (job, signal) => {
      ran.push(job.si);
      await finish(job, signal);
    };
    const q = queue(run, { servers: () => servers });
    await q.start();
    await until(store, async () => (await store.require(id)).state === 'failed');
    const failed = await store.require(id);
    expect(ran).toEqual([]);
    expect(failed).toMatchObject({ permanent: true, failureCode: 'NOT_ENOUGH_SERVERS', attempts: 0 });
    expect(failed.nextAttemptAt).toBeUndefined();
    expect(failed.lastError).toMatch(/^happy=7 needs shares on 7 different storage servers but the helper knows 3/);
    // A helper restarted with enough servers runs it again.
    await q.stop();
    servers = 10;
    await queue(run, { servers: () => servers }).start();
    await until(store, async () => (await store.require(id)).state === 'done');
    expect(ran).toEqual([id]);
  });

  it('a failure while enough servers are configured stays retryable (not permanent)', async () => {
    const id = await add(0);
    let runs = 0;
    await queue(async () => {
      runs++;
      throw new Error('happiness 5 < happy 7');
    }, { servers: () => 10, baseBackoffMs: 1, maxBackoffMs: 1 }).start();
    await until(store, () => runs >= 2);
    const job = await store.require(id);
    expect(job.permanent).toBeUndefined();
  });
});
