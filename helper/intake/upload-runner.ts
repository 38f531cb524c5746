import type { Logger } from '../../runtime/log.js';
import { publish, type EventSource } from '../diagnostics.js';
import { encodeAndPush, type EncodeFn } from '../encode/encode-push.js';
import { SpoolMismatch } from '../encode/encoder-source.js';
import type { GridServer } from '../grid/grid.js';
import type { Job, JobResult, UploadJob } from '../jobs/job.js';
import type { JobStore } from '../jobs/job-store.js';
import { EarlyStop, type JobQueue } from '../jobs/queue.js';
import type { SpoolFiles } from './spool-files.js';

export interface UploadRunnerDeps {
  jobs: JobStore;
  files: SpoolFiles;
  queue: Pick<JobQueue, 'enqueue' | 'isRunning' | 'startEarly'>;
  servers: () => Promise<GridServer[]>;
  encode: EncodeFn;
  log: Logger;
  now: () => number;
  /** Start encoding while the upload still arrives (config limits.pipeline). */
  pipeline: boolean;
  /** Received bytes and finished jobs are published from this source. */
  source: EventSource;
}

/** Progress is saved at most this often (the final save always happens). */
const PROGRESS_EVERY_MS = 250;

/**
 * Runs upload jobs: from a spool (complete, or still arriving when the job
 * starts early) to pushed shares and a durable result. Also moves a spool on
 * when its last byte is verified, and recovers spools a crash left complete
 * but not moved.
 */
export class UploadRunner {
  constructor(private readonly d: UploadRunnerDeps) {}

  /** A spool whose last byte was committed just before a crash may not have been moved on yet. */
  async recoverSpools(): Promise<void> {
    for (const job of await this.d.jobs.list((j) => j.state === 'receiving' && j.received === j.params.size)) {
      await this.spoolComplete(job.si);
    }
  }

  /** Every byte of `si` is received and verified: its spool moves to encoding/ and the job is queued. */
  async spoolComplete(si: string): Promise<void> {
    const { jobs, files, queue } = this.d;
    const job = await jobs.require(si);
    if (job.state !== 'receiving') return;
    await files.markComplete(si).catch(async (err: NodeJS.ErrnoException) => {
      // Already moved before a crash: fine if it is in encoding/.
      if (err.code !== 'ENOENT' || !(await files.locate(si))) throw err;
    });
    // If encoding already started during the upload, the running job carries on.
    await jobs.setState(si, queue.isRunning(si) ? 'encoding' : 'queued', { receivedAt: this.d.now() });
    queue.enqueue(si);
  }

  /** Called as verified bytes arrive: encoding may start before the upload ends (pipelining). */
  received(si: string, bytes: number): void {
    publish('ferry:intake:received', this.d.source, () => ({ si, bytes }));
    if (this.d.pipeline) this.d.queue.startEarly(si);
  }

  async run(job: UploadJob, signal: AbortSignal): Promise<void> {
    const { jobs } = this.d;
    const si = job.si;
    const started = this.d.now();
    // Started while the upload goes on: the job keeps its state until the spool is complete.
    const early = job.state === 'receiving';
    const patch = { attempts: job.attempts + 1, startedAt: started, lastError: undefined, nextAttemptAt: undefined, pushedBytes: {} };
    if (early) await jobs.update(si, (j) => Object.assign(j, patch));
    else await jobs.setState(si, 'encoding', patch);
    try {
      await this.encodeJob(job, signal, started);
    } catch (err) {
      if (err instanceof SpoolMismatch && !signal.aborted) {
        // Bad spooled bytes are not a failed push: they are dropped and received again.
        await this.dropSpoolFrom(si, err.offset, err.root, err.message);
        throw new EarlyStop(err);
      }
      // An early start that fails is not a failed job: the upload may still be going on.
      if (early && (await jobs.get(si))?.state === 'receiving') throw new EarlyStop(err);
      throw err;
    }
  }

  private async encodeJob(job: UploadJob, signal: AbortSignal, started: number): Promise<void> {
    const { jobs, files } = this.d;
    const si = job.si;
    const result = await this.encodeAndPush(job, signal);
    // Read afresh: a job started during its upload learns when the upload ended only now.
    const latest = await jobs.require(si);
    result.timings.receivedMs = latest.receivedAt !== undefined ? latest.receivedAt - latest.createdAt : undefined;
    await jobs.setState(si, 'done', { result, finishedAt: this.d.now() });
    // Only once the result is durable may the spool go.
    await files.remove(si);
    const done = await jobs.require(si);
    const seconds = (this.d.now() - started) / 1000;
    publish('ferry:jobs:done', this.d.source, () => ({
      si,
      kind: 'upload',
      seconds,
      size: job.params.size,
      pushedBytes: done.pushedBytes,
      placement: done.placement,
      pushed: result.pushed,
    }));
    this.d.log.info({ si, pushed: result.pushed.length, happiness: result.happiness }, 'job done');
  }

  /**
   * The spool from `offset` on does not match its hashes (disk damage): it is
   * dropped from there (not received) and the job goes back to receiving, so
   * a check answers `send` from `offset`. Nothing is dropped if the hash list
   * was replaced meanwhile: then the encode was stale, not the bytes.
   */
  private async dropSpoolFrom(si: string, offset: number, root: string, reason: string): Promise<void> {
    const { jobs, files } = this.d;
    const job = await jobs.require(si);
    if (job.crypttextRoot !== root || (job.state !== 'receiving' && job.state !== 'encoding' && job.state !== 'queued')) return;
    // Only a receiving upload's hashes can be replaced, and its spool is in incoming/ already.
    await files.returnToIncoming(si);
    await jobs.update(si, (j) => {
      if (j.crypttextRoot !== root) return;
      j.received = Math.min(j.received, offset);
      j.state = 'receiving';
      j.receivedAt = undefined;
      j.lastError = reason;
    });
    this.d.log.warn({ si, offset }, 'spooled bytes do not match their segment hashes; dropped from this offset');
  }

  /** The one call into the encoder (helper/encode/), with what it needs of this job. */
  private async encodeAndPush(job: UploadJob, signal: AbortSignal): Promise<JobResult> {
    const { jobs, files } = this.d;
    const si = job.si;
    let lastSaved = 0;
    return encodeAndPush({
      job: await jobs.require(si),
      spoolFile: async () => {
        const file = await files.locate(si);
        if (!file) throw new Error(`spool for ${si} is missing`);
        return file;
      },
      available: job.state === 'receiving' ? (end, sig) => this.waitForSpool(si, end, sig) : undefined,
      segmentHashes: await jobs.segmentHashes(si),
      currentRoot: async () => (await jobs.require(si)).crypttextRoot,
      servers: await this.d.servers(),
      encode: this.d.encode,
      signal,
      log: this.d.log,
      savePlacement: async (placement) => {
        await jobs.update(si, (j) => (j.placement = placement));
      },
      progress: async ({ segmentsEncoded, pushedBytes, final }) => {
        const now = this.d.now();
        if (now - lastSaved < PROGRESS_EVERY_MS && !final) return;
        lastSaved = now;
        const save = jobs.update(si, (j) => {
          j.segmentsEncoded = segmentsEncoded;
          j.pushedBytes = { ...pushedBytes };
        }, false);
        if (final) await save;
        else void save.catch(() => undefined);
      },
    });
  }

  /** Resolves when the spool of `si` holds `end` verified bytes; rejects if the upload is cancelled. */
  private async waitForSpool(si: string, end: number, signal?: AbortSignal): Promise<void> {
    const { jobs } = this.d;
    for (;;) {
      signal?.throwIfAborted();
      const job = await jobs.require(si);
      if (job.received >= end) return;
      if (job.state === 'cancelled') throw new Error(`upload ${si} was cancelled`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          jobs.off('change', onChange);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const onChange = (changed: Job) => {
          if (changed.si === si) done();
        };
        // The change event wakes the wait; the timer is a backstop.
        const timer = setTimeout(done, 1000);
        jobs.on('change', onChange);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }
}
