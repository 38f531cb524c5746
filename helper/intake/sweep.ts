import type { Logger } from '../../runtime/log.js';
import { isTerminal, type Job } from '../jobs/job.js';
import type { JobStore } from '../jobs/job-store.js';
import type { SpoolFiles } from './spool-files.js';

export interface SweepReport {
  expiredSpools: string[];
  orphanFiles: string[];
  /** Holding-dir entries that are no spool of ours (not `<storage index>.ct`): left alone. */
  strayFiles: string[];
  /** Done and cancelled jobs forgotten after limits.jobRetention. */
  prunedJobs: string[];
  freedBytes: number;
}

/**
 * Tahoe leaves stale holding-dir files to be deleted by hand; Ferry sweeps:
 * a receiving spool idle longer than `idleMs` is cancelled and deleted, and a
 * spool file no live job owns (a crash between recording a result and
 * deleting the file) is removed.
 */
async function sweepHoldingDirs(o: {
  jobs: JobStore;
  files: SpoolFiles;
  idleMs: number;
  now: number;
  running: (si: string) => boolean;
  stop: (si: string) => Promise<void>;
  log: Logger;
}): Promise<SweepReport> {
  const usage = await o.files.usage();
  const report: SweepReport = { expiredSpools: [], orphanFiles: [], strayFiles: usage.stray, prunedJobs: [], freedBytes: 0 };
  if (usage.stray.length) o.log.warn({ files: usage.stray }, 'holding dirs hold files that are no spool; the sweep leaves them alone');
  const sizes = new Map(usage.files.map((f) => [f.si, f]));
  for (const job of await o.jobs.list((j) => j.state === 'receiving')) {
    const file = sizes.get(job.si);
    // Idle means no bytes from the client: the spool's mtime, not the job's
    // updatedAt (an early encode bumps that while it waits for the spool).
    const lastActivity = Math.max(job.createdAt, file?.mtimeMs ?? 0);
    if (o.now - lastActivity <= o.idleMs) continue;
    await o.stop(job.si); // an early encode of it, if one runs
    await o.files.remove(job.si);
    await o.jobs.setState(job.si, 'cancelled', { lastError: `spool idle since ${new Date(lastActivity).toISOString()}; removed by the sweep` });
    report.expiredSpools.push(job.si);
    report.freedBytes += file?.bytes ?? 0;
  }
  for (const f of usage.files) {
    const job = await o.jobs.get(f.si);
    const live = job && !isTerminal(job.state);
    if (live || o.running(f.si) || report.expiredSpools.includes(f.si)) continue;
    try {
      await o.files.remove(f.si);
    } catch (err) {
      // One file that cannot go must not stop the sweep of the others, now or at the next sweep.
      o.log.warn({ si: f.si, err }, 'sweep could not remove an orphan spool; skipped');
      continue;
    }
    report.orphanFiles.push(f.si);
    report.freedBytes += f.bytes;
  }
  return report;
}

/**
 * Done and cancelled jobs are forgotten `retentionMs` after they finished,
 * so the job store does not grow without end. A later check of a pruned
 * file asks the storage servers, which answer have-it while the shares last.
 */
async function pruneFinishedJobs(jobs: JobStore, retentionMs: number, now: number): Promise<string[]> {
  const pruned: string[] = [];
  const expired = (j: Job) => isTerminal(j.state) && now - (j.finishedAt ?? j.updatedAt) >= retentionMs;
  for (const job of await jobs.list(expired)) {
    // Read again: a check may have replaced the record meanwhile.
    const current = await jobs.get(job.si);
    if (!current || current.updatedAt !== job.updatedAt) continue;
    await jobs.delete(job.si);
    pruned.push(job.si);
  }
  return pruned;
}

export interface SpoolSweeperDeps {
  jobs: JobStore;
  files: SpoolFiles;
  /** How long a receiving spool may stay idle (config limits.spoolIdle, read at each sweep). */
  idleMs: () => number;
  /** How long done and cancelled jobs are kept (config limits.jobRetention). */
  retentionMs: () => number;
  running: (si: string) => boolean;
  /** Stops a running (early) encode of `si` and waits for it to unwind. */
  stop: (si: string) => Promise<void>;
  now: () => number;
  log: Logger;
}

/** Sweeps the holding dirs every `intervalMs` and when asked, remembering the last outcome for the admin overview. */
export class SpoolSweeper {
  #last: { at: number; report: SweepReport } | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly d: SpoolSweeperDeps) {}

  get last(): { at: number; report: SweepReport } | undefined {
    return this.#last;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.sweep().catch((err) => this.d.log.error({ err }, 'sweep failed')), intervalMs);
    this.timer.unref();
  }

  async sweep(): Promise<SweepReport> {
    const { jobs, files, idleMs, running, stop, now, log } = this.d;
    const report = await sweepHoldingDirs({ jobs, files, idleMs: idleMs(), now: now(), running, stop, log });
    report.prunedJobs = await pruneFinishedJobs(jobs, this.d.retentionMs(), now());
    if (report.prunedJobs.length) log.info({ count: report.prunedJobs.length }, 'finished jobs pruned after their retention');
    this.#last = { at: now(), report };
    return report;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
