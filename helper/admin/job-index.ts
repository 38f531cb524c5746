import type { Job } from '../jobs/job.js';
import type { JobStore } from '../jobs/job-store.js';
import { JOB_STATES, type JobState } from '../protocol.js';
import type { ThroughputTracker } from './throughput.js';
import { progressOf, type JobError } from './views.js';

const ERRORS_PER_JOB = 20;
const JOBS_WITH_ERRORS = 1000;

/**
 * An in-memory copy of the job store for the admin API, the live page and
 * the metrics, kept current by the store's 'change' events (a full re-read
 * every `resyncMs` drops jobs deleted meanwhile, which emit nothing). Each
 * change also feeds the throughput tracker (bytes received, encoded and
 * pushed since the previous version of the job) and the error history:
 * every new `lastError` of a job, with its time and attempt, as seen since
 * this process started.
 */
export class JobIndex {
  private readonly jobs = new Map<string, Job>();
  private readonly errors = new Map<string, JobError[]>();
  private readonly changedDuringResync = new Set<string>();
  private resyncing = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<(job: Job) => void>();
  private readonly onChange = (job: Job) => this.apply(job);

  constructor(
    private readonly store: JobStore,
    private readonly throughput: ThroughputTracker,
    private readonly resyncMs = 60_000,
  ) {}

  async start(): Promise<void> {
    this.store.on('change', this.onChange);
    await this.resync();
    this.timer = setInterval(() => void this.resync().catch(() => undefined), this.resyncMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.store.off('change', this.onChange);
    this.listeners.clear();
  }

  /** Called after every change of a job (for the live page). */
  subscribe(fn: (job: Job) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get(si: string): Job | undefined {
    return this.jobs.get(si);
  }

  all(): IterableIterator<Job> {
    return this.jobs.values();
  }

  counts(): Record<JobState, number> & { total: number } {
    const out = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const j of this.jobs.values()) out[j.state]++;
    return { ...out, total: this.jobs.size };
  }

  errorsOf(si: string): JobError[] {
    return [...(this.errors.get(si) ?? [])];
  }

  async resync(): Promise<void> {
    if (this.resyncing) return;
    this.resyncing = true;
    this.changedDuringResync.clear();
    try {
      const listed = await this.store.list();
      const seen = new Set<string>();
      for (const job of listed) {
        seen.add(job.si);
        const mine = this.jobs.get(job.si);
        if (!mine || mine.updatedAt < job.updatedAt) this.jobs.set(job.si, trim(job));
      }
      for (const si of this.jobs.keys()) if (!seen.has(si) && !this.changedDuringResync.has(si)) this.jobs.delete(si);
    } finally {
      this.resyncing = false;
    }
  }

  private apply(job: Job): void {
    if (this.resyncing) this.changedDuringResync.add(job.si);
    const prev = this.jobs.get(job.si);
    const next = trim(job);
    this.jobs.set(job.si, next);
    this.count(prev, next);
    if (next.lastError && next.lastError !== prev?.lastError) this.recordError(next);
    for (const fn of this.listeners) fn(next);
  }

  private count(prev: Job | undefined, next: Job): void {
    // A job new to this process (or re-created after a delete) starts from nothing.
    const same = prev && prev.createdAt === next.createdAt;
    try {
      const a = same ? progressOf(prev) : undefined;
      const b = progressOf(next);
      this.throughput.add('received', b.received - (a?.received ?? 0));
      // A new attempt starts its counts again: only growth is counted (add() ignores the rest).
      this.throughput.add('encoded', b.encodedBytes - (a?.encodedBytes ?? 0));
      this.throughput.add('pushed', b.pushedBytes - (a?.pushedBytes ?? 0));
    } catch {
      /* a job with parameters that make no geometry: nothing to count */
    }
  }

  private recordError(job: Job): void {
    const list = this.errors.get(job.si) ?? [];
    this.errors.delete(job.si); // re-insert: the map keeps the jobs with the newest errors
    list.push({ at: job.updatedAt, attempt: job.attempts, state: job.state, message: job.lastError! });
    if (list.length > ERRORS_PER_JOB) list.shift();
    this.errors.set(job.si, list);
    if (this.errors.size > JOBS_WITH_ERRORS) this.errors.delete(this.errors.keys().next().value!);
  }
}

/** The index keeps jobs without their UEB (the bulk of a finished job). */
function trim(job: Job): Job {
  const copy = structuredClone(job);
  if (copy.result) copy.result.ueb = '';
  return copy;
}
