import type { Job } from '../jobs/job.js';
import type { AdminDeps } from './deps.js';
import { HelperMetrics } from '../metrics/registry.js';
import { HelperCounters } from './counters.js';
import { LiveFeed } from './events.js';
import { JobIndex } from './job-index.js';
import { overview } from './overview.js';
import { packageVersion } from './package-root.js';
import { ServerProber } from './probe.js';
import { ThroughputTracker } from './throughput.js';
import { TicketStore } from './tickets.js';
import { isActive, jobSummary } from './views.js';

export type { AdminDeps } from './deps.js';

/** How many jobs the live page gets: the active ones (newest first) and the latest finished. */
const LIVE_ACTIVE = 100;
const LIVE_RECENT = 10;

export interface AdminOptions {
  /** Storage server probe interval (0: no periodic probe). Default: config.admin.probeInterval. */
  probeIntervalMs?: number;
  /** Live page update interval. */
  liveIntervalMs?: number;
  ticketTtlMs?: number;
}

/**
 * The admin side of a helper: job index and throughput, periodic server
 * probes, event-stream tickets, the live feed and the metrics. HTTP is in
 * ./app.ts and ./router.ts.
 */
export class Admin {
  readonly version = packageVersion();
  readonly throughput = new ThroughputTracker();
  readonly index: JobIndex;
  readonly prober: ServerProber;
  readonly tickets: TicketStore;
  readonly feed: LiveFeed;
  readonly metrics: HelperMetrics;
  readonly counters: HelperCounters;
  private unsubscribe: (() => void) | undefined;

  private constructor(
    readonly helper: AdminDeps,
    o: AdminOptions,
  ) {
    this.counters = new HelperCounters(helper.source);
    this.index = new JobIndex(helper.jobs, this.throughput);
    this.prober = new ServerProber(helper.grid, this.counters, o.probeIntervalMs ?? helper.config.admin.probeInterval, helper.log);
    this.tickets = new TicketStore(o.ticketTtlMs);
    this.feed = new LiveFeed(() => this.liveSnapshot(), helper.log, { intervalMs: o.liveIntervalMs, maxClients: helper.config.limits.maxLiveFeeds });
    this.metrics = new HelperMetrics({
      sources: helper.eventSources,
      jobCounts: () => this.index.counts(),
      queueDepth: () => helper.queue.depth,
      holding: () => helper.files.usage(),
      intakePaused: () => helper.actions.intakePaused,
      throughput: () => this.throughput.rates(),
      servers: () => this.prober.servers(),
      version: this.version,
    });
  }

  static async open(helper: AdminDeps, o: AdminOptions = {}): Promise<Admin> {
    const admin = new Admin(helper, o);
    await admin.index.start();
    admin.unsubscribe = admin.index.subscribe(() => admin.feed.changed());
    admin.prober.start();
    return admin;
  }

  get adminToken(): string {
    const t = this.helper.config.adminToken;
    if (!t) throw new Error('the admin API needs config.adminToken');
    return t;
  }

  running(si: string): boolean {
    return this.helper.queue.isRunning(si);
  }

  overview() {
    return overview(this);
  }

  /** What one event-stream update carries: overview, active and recent jobs, servers. */
  async liveSnapshot() {
    const active: Job[] = [];
    const recent: Job[] = [];
    for (const j of this.index.all()) (isActive(j) ? active : recent).push(j);
    active.sort((a, b) => b.createdAt - a.createdAt || (a.si < b.si ? -1 : 1));
    recent.sort((a, b) => b.updatedAt - a.updatedAt);
    return {
      overview: await this.overview(),
      jobs: active.slice(0, LIVE_ACTIVE).map((j) => jobSummary(j, this.running(j.si))),
      activeTotal: active.length,
      recent: recent.slice(0, LIVE_RECENT).map((j) => jobSummary(j, false)),
      servers: this.prober.servers(),
    };
  }

  close(): void {
    this.unsubscribe?.();
    this.feed.close();
    this.prober.close();
    this.index.close();
    this.metrics.close();
    this.counters.close();
  }
}
