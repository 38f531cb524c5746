import { FerryError } from '../../core/errors.js';
import type { Logger } from '../../runtime/log.js';
import type { IntakeSwitch } from '../intake/intake-switch.js';
import type { SpoolFiles } from '../intake/spool-files.js';
import { isTerminal, type Job } from './job.js';
import type { JobStore } from './job-store.js';
import type { JobQueue } from './queue.js';

export interface OperatorActionDeps {
  jobs: JobStore;
  queue: Pick<JobQueue, 'abort' | 'settled' | 'enqueue'>;
  files: Pick<SpoolFiles, 'remove'>;
  intake: IntakeSwitch;
  log: Logger;
  now: () => number;
  /** limits.maxAttempts: a job that used them all gets one more attempt per operator retry. */
  maxAttempts: number;
}

/** What an operator does to jobs and intake (the admin API's actions). */
export class OperatorActions {
  constructor(private readonly d: OperatorActionDeps) {}

  get intakePaused(): boolean {
    return this.d.intake.paused;
  }

  /** New uploads are refused (503 with Retry-After) until resumeIntake(); known uploads carry on. */
  pauseIntake(): void {
    if (this.d.intake.set(true)) this.d.log.warn('intake paused by an operator');
  }

  resumeIntake(): void {
    if (this.d.intake.set(false)) this.d.log.warn('intake resumed by an operator');
  }

  /** Stops the job if it runs, marks it cancelled and deletes its spool. */
  async cancel(si: string): Promise<Job> {
    const { jobs, queue } = this.d;
    const job = await jobs.require(si);
    if (isTerminal(job.state)) throw new FerryError('CONFLICT', `job ${si} is ${job.state}; there is nothing to cancel`);
    queue.abort(si);
    await queue.settled(si);
    let finished = false;
    const cancelled = await jobs.update(si, (j) => {
      if (isTerminal(j.state)) {
        finished = true;
        return;
      }
      j.state = 'cancelled';
      j.lastError = 'cancelled by an operator';
      j.nextAttemptAt = undefined;
      j.finishedAt = this.d.now();
    });
    if (finished) throw new FerryError('CONFLICT', `job ${si} became ${cancelled.state} before it could be cancelled`);
    // The state goes first: a crash in between leaves an orphan spool, which the sweep removes.
    await this.d.files.remove(si);
    this.d.log.info({ si, was: job.state }, 'job cancelled by an operator');
    return cancelled;
  }

  /** A failed job is queued now instead of after its backoff; one that used all its attempts gets one more. */
  async retry(si: string): Promise<Job> {
    const { jobs } = this.d;
    const job = await jobs.require(si);
    if (job.state !== 'failed') throw new FerryError('CONFLICT', `job ${si} is ${job.state}; only a failed job can be retried`);
    let was: string | undefined;
    const queued = await jobs.update(si, (j) => {
      was = j.state;
      if (j.state !== 'failed') return;
      j.state = 'queued';
      j.nextAttemptAt = undefined;
      j.permanent = undefined;
      j.failureCode = undefined;
      j.attempts = Math.min(j.attempts, this.d.maxAttempts - 1);
    });
    if (was !== 'failed') throw new FerryError('CONFLICT', `job ${si} is ${String(was)}; only a failed job can be retried`);
    this.d.queue.enqueue(si);
    this.d.log.info({ si }, 'job retried by an operator');
    return queued;
  }
}
