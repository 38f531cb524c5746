// What the admin side needs of its helper: narrow, so admin/ depends on no Helper object.
import type { Logger } from '../../runtime/log.js';
import type { HelperConfig } from '../config.js';
import type { EventSource } from '../diagnostics.js';
import type { GridDirectory } from '../grid/directory.js';
import type { SpoolFiles } from '../intake/spool-files.js';
import type { SpoolSweeper } from '../intake/sweep.js';
import type { OperatorActions } from '../jobs/actions.js';
import type { Job } from '../jobs/job.js';
import type { JobStore } from '../jobs/job-store.js';
import type { JobQueue } from '../jobs/queue.js';

/** What the admin side needs of its helper (helper.ts builds it). */
export interface AdminDeps {
  config: HelperConfig;
  log: Logger;
  jobs: JobStore;
  grid: GridDirectory;
  queue: Pick<JobQueue, 'isRunning' | 'depth'>;
  files: Pick<SpoolFiles, 'usage'>;
  actions: OperatorActions;
  sweeper: Pick<SpoolSweeper, 'sweep' | 'last'>;
  /** Queues a repair of a file this helper knows (helper/repair/). */
  repairKnown: (si: string) => Promise<Job>;
  startedAt: number;
  /** The helper's identity in events: its counters count only its own. */
  source: EventSource;
  /** Every source whose events the metrics count (the helper's and its gateway's). */
  eventSources: EventSource[];
}
