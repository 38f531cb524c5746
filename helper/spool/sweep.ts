import type { JobStore } from '../jobs/job-store.js';
import type { SpoolFiles } from './spool-files.js';

export interface SweepReport {
  expiredSpools: string[];
  orphanFiles: string[];
  freedBytes: number;
}

/**
 * Tahoe leaves stale holding-dir files to be deleted by hand; Ferry sweeps:
 * a receiving spool idle longer than `idleMs` is cancelled and deleted, and a
 * spool file no live job owns (a crash between recording a result and
 * deleting the file) is removed.
 */
export async function sweepHoldingDirs(o: {
  jobs: JobStore;
  files: SpoolFiles;
  idleMs: number;
  now: number;
  running: (si: string) => boolean;
}): Promise<SweepReport> {
  const report: SweepReport = { expiredSpools: [], orphanFiles: [], freedBytes: 0 };
  const usage = await o.files.usage();
  const sizes = new Map(usage.files.map((f) => [f.si, f]));
  for (const job of await o.jobs.list((j) => j.state === 'receiving')) {
    const file = sizes.get(job.si);
    const lastActivity = Math.max(job.updatedAt, file?.mtimeMs ?? 0);
    if (o.now - lastActivity <= o.idleMs) continue;
    await o.files.remove(job.si);
    await o.jobs.setState(job.si, 'cancelled', { lastError: `spool idle since ${new Date(lastActivity).toISOString()}; removed by the sweep` });
    report.expiredSpools.push(job.si);
    report.freedBytes += file?.bytes ?? 0;
  }
  for (const f of usage.files) {
    const job = await o.jobs.get(f.si);
    const live = job && job.state !== 'done' && job.state !== 'cancelled';
    if (live || o.running(f.si) || report.expiredSpools.includes(f.si)) continue;
    await o.files.remove(f.si);
    report.orphanFiles.push(f.si);
    report.freedBytes += f.bytes;
  }
  return report;
}
