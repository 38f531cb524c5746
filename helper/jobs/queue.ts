import { setMaxListeners } from 'node:events';
import type { Logger } from '../../runtime/log.js';
import { FAILURE_CODES, permanentFailure, type PermanentFailure } from './failure.js';
import { isTerminal, type Job } from './job.js';
import type { JobStore } from './job-store.js';

export interface QueueOptions {
  concurrency: number;
  /** First retry delay; doubles per attempt up to maxBackoffMs. */
  baseBackoffMs: number;
  maxBackoffMs: number;
  /** Attempts a job gets (counted durably by the runner before its work, so a crash counts); then it fails for good. */
  maxAttempts: number;
  /** Storage servers the helper is configured with: a job whose `happy` exceeds them fails for good. */
  servers?: () => number;
  now?: () => number;
}

export type JobRunner = (job: Job, signal: AbortSignal) => Promise<void>;

/** Thrown by a runner that stopped without the job having failed (an early start whose upload goes on). */
export class EarlyStop extends Error {
  constructor(cause: unknown) {
    super(`early encoding stopped: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'EarlyStop';
  }
}

/**
 * Runs queued jobs with bounded concurrency. The queue itself is the job
 * store: on start every job that was queued or mid-way (encoding)
 * when the process died is picked up again; failed jobs come back after
 * their backoff, until they have had `maxAttempts` attempts.
 */
export class JobQueue {
  private readonly running = new Map<string, AbortController>();
  /** The run of each running job, to wait for it to unwind (cancel). */
  private readonly runs = new Map<string, Promise<void>>();
  private readonly waiting: string[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Jobs whose early start stopped: they wait for their upload to complete. */
  private readonly earlyFailures = new Set<string>();
  private stopped = false;
  private readonly now: () => number;

  constructor(
    private readonly jobs: JobStore,
    private readonly run: JobRunner,
    private readonly options: QueueOptions,
    private readonly log: Logger,
  ) {
    this.now = options.now ?? Date.now;
  }

  async start(): Promise<void> {
    for (const job of await this.jobs.list()) {
      if (job.state === 'queued' || job.state === 'encoding') this.enqueue(job.si);
      else if (job.state === 'failed' && job.failureCode === FAILURE_CODES.notEnoughServers && !this.permanent(job)) this.enqueue(job.si); // servers were added
      else if (job.state === 'failed') this.scheduleRetry(job);
    }
  }

  enqueue(si: string): void {
    if (this.stopped || this.running.has(si) || this.waiting.includes(si)) return;
    clearTimeout(this.timers.get(si));
    this.timers.delete(si);
    this.waiting.push(si);
    this.pump();
  }

  /**
   * Starts a job whose upload is still arriving, if a worker slot is free:
   * encoding then keeps pace with the upload instead of starting after it.
   */
  startEarly(si: string): void {
    if (this.stopped || this.running.has(si) || this.waiting.includes(si) || this.running.size >= this.options.concurrency) return;
    if (this.earlyFailures.has(si)) return;
    this.launch(si, true);
  }

  /** Stops a running job (cancel) without marking it failed. */
  abort(si: string): void {
    this.running.get(si)?.abort(new Error('cancelled'));
    const w = this.waiting.indexOf(si);
    if (w >= 0) this.waiting.splice(w, 1);
    clearTimeout(this.timers.get(si));
    this.timers.delete(si);
  }

  get depth(): { running: number; waiting: number } {
    return { running: this.running.size, waiting: this.waiting.length };
  }

  isRunning(si: string): boolean {
    return this.running.has(si);
  }

  /** Resolves once the run of `si`, if one is going on, has ended (e.g. after abort()). */
  async settled(si: string): Promise<void> {
    await this.runs.get(si)?.catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const c of this.running.values()) c.abort(new Error('helper shutting down'));
    // Wait for running jobs to notice the abort and unwind.
    while (this.running.size) await new Promise((r) => setTimeout(r, 10));
  }

  backoffFor(attempts: number): number {
    return Math.min(this.options.maxBackoffMs, this.options.baseBackoffMs * 2 ** Math.max(0, attempts - 1));
  }

  private scheduleRetry(job: Job): void {
    if (this.stopped || job.nextAttemptAt === undefined) return;
    const delay = Math.max(0, job.nextAttemptAt - this.now());
    clearTimeout(this.timers.get(job.si));
    const t = setTimeout(() => this.enqueue(job.si), delay);
    t.unref();
    this.timers.set(job.si, t);
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.options.concurrency && this.waiting.length) {
      this.launch(this.waiting.shift()!, false);
    }
  }

  private launch(si: string, early: boolean): void {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal); // one listener per in-flight storage request
    this.running.set(si, controller);
    const run = this.execute(si, controller, early).finally(() => {
      this.running.delete(si);
      this.runs.delete(si);
      this.pump();
    });
    this.runs.set(si, run);
  }

  private async execute(si: string, controller: AbortController, early: boolean): Promise<void> {
    const job = await this.jobs.get(si);
    if (!job || isTerminal(job.state) || (job.state === 'receiving' && !early)) return;
    if (job.attempts >= this.options.maxAttempts) {
      // Attempts that crashed the helper count too: a job must not crash-loop it at every start.
      if (!early) await this.giveUp(si, job.lastError ?? 'no error recorded (the helper stopped mid-attempt)');
      return;
    }
    if (!early) this.earlyFailures.delete(si);
    const hopeless = early ? undefined : this.permanent(job);
    if (hopeless) {
      // Encoding and pushing would only fail again: say why at once.
      await this.failForGood(si, hopeless, hopeless.message);
      return;
    }
    try {
      await this.run(job, controller.signal);
    } catch (err) {
      if (controller.signal.aborted) return; // shutdown or cancel: the job stays where it durably is
      if (err instanceof EarlyStop) {
        this.earlyFailures.add(si);
        this.log.info({ si, err: err.message }, 'early encoding stopped; will encode when the upload completes');
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      const now = await this.jobs.get(si);
      if (!now || isTerminal(now.state)) return; // cancelled meanwhile: nothing to retry
      const hopelessNow = this.permanent(now);
      if (hopelessNow) {
        await this.failForGood(si, hopelessNow, `${hopelessNow.message} (last attempt: ${message})`);
        return;
      }
      if (now.attempts >= this.options.maxAttempts) {
        await this.giveUp(si, message);
        return;
      }
      const failed = await this.jobs.update(si, (j) => {
        j.state = 'failed';
        j.lastError = message;
        j.nextAttemptAt = this.now() + this.backoffFor(j.attempts);
        j.permanent = undefined; // a retry after servers were added may fail for another reason
        j.failureCode = undefined;
      });
      this.log.warn({ si, attempts: failed.attempts, err: message }, 'job failed; will retry');
      this.scheduleRetry(failed);
    }
  }

  private permanent(job: Job): PermanentFailure | undefined {
    return this.options.servers ? permanentFailure(job, this.options.servers()) : undefined;
  }

  /** Failed for good: no retry is scheduled, now or at a restart (an operator may still retry it). */
  private async giveUp(si: string, lastError: string): Promise<void> {
    const failed = await this.jobs.update(si, (j) => {
      j.state = 'failed';
      j.lastError = `gave up after ${j.attempts} attempts (limits.maxAttempts); last error: ${lastError}`;
      j.nextAttemptAt = undefined;
      j.permanent = true;
      j.failureCode = FAILURE_CODES.noAttemptsLeft;
    });
    this.log.error({ si, attempts: failed.attempts, err: lastError }, 'job failed for good: no attempts left');
  }

  private async failForGood(si: string, why: PermanentFailure, lastError: string): Promise<void> {
    await this.jobs.update(si, (j) => {
      j.state = 'failed';
      j.lastError = lastError;
      j.nextAttemptAt = undefined;
      j.permanent = true;
      j.failureCode = why.code;
    });
    this.log.error({ si, code: why.code, err: lastError }, 'job failed for good');
  }
}
