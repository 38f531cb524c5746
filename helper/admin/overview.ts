import type { HelperCounters } from './counters.js';
import type { AdminDeps } from './deps.js';
import type { JobIndex } from './job-index.js';
import type { ThroughputTracker } from './throughput.js';

/** What the overview reads: the helper's deps and the admin side's trackers. */
export interface OverviewSources {
  version: string;
  helper: AdminDeps;
  index: Pick<JobIndex, 'counts'>;
  throughput: Pick<ThroughputTracker, 'rates' | 'current'>;
  counters: Pick<HelperCounters, 'totals'>;
}

/** The admin overview: version, uptime, jobs by state, holding dirs, throughput, queue, servers, counters. */
export async function overview(admin: OverviewSources) {
  const h = admin.helper;
  const usage = await h.files.usage();
  const servers = h.grid.health();
  const now = Date.now();
  return {
    version: admin.version,
    now,
    startedAt: h.startedAt,
    uptimeSeconds: Math.floor((now - h.startedAt) / 1000),
    intakePaused: h.actions.intakePaused,
    jobs: admin.index.counts(),
    queue: h.queue.depth,
    holding: {
      incoming: usage.incoming,
      encoding: usage.encoding,
      total: usage.incoming + usage.encoding,
      files: usage.files.length,
      quota: h.config.limits.holdingQuota,
    },
    /** Bytes per second over the last minute. */
    throughput: admin.throughput.rates(),
    /** Bytes per second now (the last few seconds; what the page's throughput tile shows). */
    throughputNow: admin.throughput.current(),
    servers: { configured: servers.length, reachable: servers.filter((s) => s.reachable).length },
    stats: admin.counters.totals(),
    lastSweep: h.sweeper.last ?? null,
  };
}
