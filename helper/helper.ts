import os from 'node:os';
import path from 'node:path';
import { CodecPool } from '../core/erasure/index.js';
import { FerryError } from '../core/errors.js';
import { mkdirDurable } from '../runtime/fs/durable.js';
import { silentLogger, type Logger } from '../runtime/log.js';
import { CheckService } from './check/check-service.js';
import type { HelperConfig } from './config.js';
import { encodeAndPush, type EncodeFn } from './encode/encode-push.js';
import { helperGateway, type Gateway } from './gateway/gateway.js';
import { GridDirectory, type ClientFactory } from './grid/directory.js';
import type { Job } from './jobs/job.js';
import { JobStore } from './jobs/job-store.js';
import { EarlyStop, JobQueue } from './jobs/queue.js';
import { RepairService, type RepairOptions } from './repair/service.js';
import { HelperStats } from './stats.js';
import { SpoolFiles } from './spool/spool-files.js';
import { SpoolDataStore } from './spool/tus-store.js';
import { sweepHoldingDirs, type SweepReport } from './spool/sweep.js';

export interface HelperOptions {
  config: HelperConfig;
  log?: Logger;
  clientFactory: ClientFactory;
  /** Erasure encoder; default: a worker-thread pool running core's codec. */
  encode?: EncodeFn;
  now?: () => number;
  /** Repair settings and test hooks (helper/repair/). */
  repair?: RepairOptions;
}

/**
 * The helper's composition root: job store, holding dirs, tus data store,
 * check service, queue and grid, wired once. HTTP lives in helper/http/.
 */
export class Helper {
  readonly stats = new HelperStats();
  readonly jobs: JobStore;
  readonly files: SpoolFiles;
  readonly grid: GridDirectory;
  readonly checks: CheckService;
  readonly datastore: SpoolDataStore;
  readonly queue: JobQueue;
  /** Check and repair (helper/repair/): repair jobs run in the same queue. */
  readonly repairs: RepairService;
  /** The download gateway (helper/gateway/), given to its routes. */
  readonly gateway: Gateway;
  readonly log: Logger;
  readonly startedAt = Date.now();
  intakePaused = false;
  /** The outcome of the last sweep (periodic or asked for), for the admin overview. */
  lastSweep: { at: number; report: SweepReport } | undefined;
  private readonly pool: CodecPool | undefined;
  private readonly encode: EncodeFn;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  private constructor(readonly config: HelperConfig, o: HelperOptions) {
    this.log = o.log ?? silentLogger();
    this.now = o.now ?? Date.now;
    this.jobs = new JobStore(path.join(config.dataDir, 'jobs'));
    this.files = new SpoolFiles(config.dataDir);
    this.grid = new GridDirectory(config.storageServers, o.clientFactory);
    this.gateway = helperGateway(this.grid, config.defaults.maxSegmentSize, (msg) => this.log.warn(msg));
    if (o.encode) {
      this.encode = o.encode;
    } else {
      const pool = new CodecPool({ size: Math.max(1, Math.min(4, os.availableParallelism())) });
      this.pool = pool;
      this.encode = (k, n, blocks) => pool.encode(k, n, blocks);
    }
    this.checks = new CheckService(
      {
        jobs: this.jobs,
        files: this.files,
        servers: () => this.grid.servers(),
        maxFileSize: config.limits.maxFileSize,
        holdingQuota: config.limits.holdingQuota,
        spoolComplete: (si) => this.spoolComplete(si),
        intakePaused: () => this.intakePaused,
      },
      { onCheck: (status, resumed) => this.stats.check(status, resumed) },
    );
    this.datastore = new SpoolDataStore(this.jobs, this.files, (si) => this.spoolComplete(si), config.limits.commitEvery, (si, n) => this.spoolProgress(si, n));
    this.queue = new JobQueue(
      this.jobs,
      (job, signal) => this.runJob(job, signal),
      { concurrency: config.limits.concurrency, baseBackoffMs: config.limits.retryBase, maxBackoffMs: config.limits.retryMax, now: this.now },
      this.log,
    );
    this.repairs = new RepairService(
      { jobs: this.jobs, grid: this.grid, queue: this.queue, config, log: this.log, stats: this.stats, now: this.now, pool: this.pool },
      o.repair,
    );
  }

  static async open(o: HelperOptions): Promise<Helper> {
    await mkdirDurable(o.config.dataDir);
    const h = new Helper(o.config, o);
    await h.files.init();
    await h.jobs.open();
    await h.grid.probe().catch(() => undefined);
    await h.recoverSpools();
    await h.queue.start();
    h.sweepTimer = setInterval(() => void h.sweep().catch((err) => h.log.error({ err }, 'sweep failed')), o.config.limits.sweepInterval);
    h.sweepTimer.unref();
    return h;
  }

  /** A spool whose last byte was committed just before a crash may not have been moved on yet. */
  private async recoverSpools(): Promise<void> {
    for (const job of await this.jobs.list((j) => j.state === 'receiving' && j.received === j.params.size)) {
      await this.spoolComplete(job.si);
    }
  }

  async spoolComplete(si: string): Promise<void> {
    const job = await this.jobs.require(si);
    if (job.state !== 'receiving') return;
    await this.files.markComplete(si).catch(async (err: NodeJS.ErrnoException) => {
      // Already moved before a crash: fine if it is in encoding/.
      if (err.code !== 'ENOENT' || !(await this.files.locate(si))) throw err;
    });
    // If encoding already started during the upload, the running job carries on.
    await this.jobs.setState(si, this.queue.isRunning(si) ? 'encoding' : 'queued', { receivedAt: this.now() });
    this.queue.enqueue(si);
  }

  /** Called as verified bytes arrive: encoding may start before the upload ends (pipelining). */
  private spoolProgress(si: string, bytes: number): void {
    this.stats.received(bytes);
    if (this.config.limits.pipeline) this.queue.startEarly(si);
  }

  /** Resolves when the spool of `si` holds `end` verified bytes; rejects if the upload is cancelled. */
  private async waitForSpool(si: string, end: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const job = await this.jobs.require(si);
      if (job.received >= end) return;
      if (job.state === 'cancelled') throw new Error(`upload ${si} was cancelled`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.jobs.off('change', onChange);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const onChange = (j: Job) => {
          if (j.si === si) done();
        };
        const timer = setTimeout(done, 1000);
        this.jobs.on('change', onChange);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  private async runJob(job: Job, signal: AbortSignal): Promise<void> {
    if (job.kind === 'repair') return this.repairs.run(job, signal);
    const si = job.si;
    const started = this.now();
    // Started while the upload goes on: the job keeps its state until the spool is complete.
    const early = job.state === 'receiving';
    const patch = { attempts: job.attempts + 1, startedAt: started, lastError: undefined, nextAttemptAt: undefined, pushedBytes: {} };
    if (early) await this.jobs.update(si, (j) => Object.assign(j, patch));
    else await this.jobs.setState(si, 'encoding', patch);
    try {
      await this.encodeJob(job, signal, started);
    } catch (err) {
      // An early start that fails is not a failed job: the upload may still be going on.
      if (early && (await this.jobs.get(si))?.state === 'receiving') throw new EarlyStop(err);
      throw err;
    }
  }

  private async encodeJob(job: Job, signal: AbortSignal, started: number): Promise<void> {
    const si = job.si;
    let lastSaved = 0;
    const result = await encodeAndPush({
      job: await this.jobs.require(si),
      spoolFile: async () => {
        const file = await this.files.locate(si);
        if (!file) throw new Error(`spool for ${si} is missing`);
        return file;
      },
      available: job.state === 'receiving' ? (end, sig) => this.waitForSpool(si, end, sig) : undefined,
      segmentHashes: await this.jobs.segmentHashes(si),
      servers: await this.grid.servers(),
      encode: this.encode,
      signal,
      log: this.log,
      savePlacement: async (placement) => {
        await this.jobs.update(si, (j) => (j.placement = placement));
      },
      progress: async ({ segmentsEncoded, pushedBytes, final }) => {
        const t = this.now();
        if (t - lastSaved < 250 && !final) return;
        lastSaved = t;
        const save = this.jobs.update(si, (j) => {
          j.segmentsEncoded = segmentsEncoded;
          j.pushedBytes = { ...pushedBytes };
        }, false);
        if (final) await save;
        else void save.catch(() => undefined);
      },
    });
    // Read afresh: a job started during its upload learns when the upload ended only now.
    const latest = await this.jobs.require(si);
    result.timings.receivedMs = latest.receivedAt !== undefined ? latest.receivedAt - latest.createdAt : undefined;
    await this.jobs.setState(si, 'done', { result, finishedAt: this.now() });
    // Only once the result is durable may the spool go.
    await this.files.remove(si);
    const done = await this.jobs.require(si);
    this.stats.jobDone((this.now() - started) / 1000, job.params.size, Object.values(done.pushedBytes).reduce((a, b) => a + b, 0));
    this.stats.serverPushes(done.placement, result.pushed, done.pushedBytes);
    this.log.info({ si, pushed: result.pushed.length, happiness: result.happiness }, 'job done');
  }

  async sweep(): Promise<SweepReport> {
    const report = await sweepHoldingDirs({ jobs: this.jobs, files: this.files, idleMs: this.config.limits.spoolIdle, now: this.now(), running: (si) => this.queue.isRunning(si) });
    this.lastSweep = { at: this.now(), report };
    return report;
  }

  /** Operator cancel: stops the job if it runs, marks it cancelled and deletes its spool. */
  async cancelJob(si: string): Promise<Job> {
    const job = await this.jobs.require(si);
    if (job.state === 'done' || job.state === 'cancelled') throw new FerryError('CONFLICT', `job ${si} is ${job.state}; there is nothing to cancel`);
    this.queue.abort(si);
    await this.queue.settled(si);
    let finished = false;
    const cancelled = await this.jobs.update(si, (j) => {
      if (j.state === 'done' || j.state === 'cancelled') {
        finished = true;
        return;
      }
      j.state = 'cancelled';
      j.lastError = 'cancelled by an operator';
      j.nextAttemptAt = undefined;
      j.finishedAt = this.now();
    });
    if (finished) throw new FerryError('CONFLICT', `job ${si} became ${cancelled.state} before it could be cancelled`);
    // The state goes first: a crash in between leaves an orphan spool, which the sweep removes.
    await this.files.remove(si);
    this.log.info({ si, was: job.state }, 'job cancelled by an operator');
    return cancelled;
  }

  /** Operator retry: a failed job is queued now instead of after its backoff. */
  async retryJob(si: string): Promise<Job> {
    const job = await this.jobs.require(si);
    if (job.state !== 'failed') throw new FerryError('CONFLICT', `job ${si} is ${job.state}; only a failed job can be retried`);
    let was: string | undefined;
    const queued = await this.jobs.update(si, (j) => {
      was = j.state;
      if (j.state !== 'failed') return;
      j.state = 'queued';
      j.nextAttemptAt = undefined;
    });
    if (was !== 'failed') throw new FerryError('CONFLICT', `job ${si} is ${String(was)}; only a failed job can be retried`);
    this.queue.enqueue(si);
    this.log.info({ si }, 'job retried by an operator');
    return queued;
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    await this.queue.stop();
    await this.pool?.close();
    this.gateway.close();
    await this.grid.close();
    await this.jobs.close();
  }
}
