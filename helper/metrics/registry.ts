import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Helper } from '../helper.js';
import { JOB_STATES } from '../jobs/job.js';

/** What the exporter reads at scrape time besides the helper itself. */
export interface MetricsSources {
  /** Jobs per state. */
  jobCounts(): Record<string, number>;
  /** Bytes per second over the last minute, by flow (received, encoded, pushed). */
  throughput?(): Record<'received' | 'encoded' | 'pushed', number>;
  /** The storage servers as the admin table shows them. */
  servers?(): { url: string; id: string | null; reachable: boolean; latencyMs: number | null; availableSpace: number | null; sharesPushed: number; bytesPushed: number }[];
  version?: string;
}

export const JOB_DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200];

let processRegistry: Registry | undefined;

/**
 * Process metrics (CPU, memory, event loop, GC, handles) belong to the
 * process, not to one helper: one registry for all, created on first use
 * (collectDefaultMetrics starts observers that cannot be stopped).
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * The helper's Prometheus metrics, in a registry of its own (not prom-client's
 * global one: a process, e.g. a test run, may hold several helpers). Counters
 * and gauges read HelperStats, the queue, the holding dirs and the job counts
 * when scraped; job durations are observed as jobs finish.
 */
export class HelperMetrics {
  readonly registry = new Registry();
  private readonly onJobDone = (seconds: number) => this.durations.observe(seconds);
  private readonly durations: Histogram;

  constructor(
    private readonly helper: Helper,
    private readonly sources: MetricsSources,
  ) {
    const registers = [this.registry];
    const stats = helper.stats;
    const counter = (name: string, help: string, value: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(value());
        },
      });
    counter('ferry_helper_upload_requests_total', 'Checks answered (Tahoe: upload requests).', () => stats.uploadRequests);
    counter('ferry_helper_already_present_total', 'Checks answered have-it: the grid already held the file.', () => stats.alreadyPresent);
    counter('ferry_helper_need_upload_total', 'Checks answered send: the client had to upload.', () => stats.needUpload);
    counter('ferry_helper_in_progress_total', 'Checks answered in-progress: every byte was already here.', () => stats.inProgress);
    counter('ferry_helper_resumes_total', 'Checks that resumed a partial upload.', () => stats.resumes);
    counter('ferry_helper_received_bytes_total', 'Ciphertext bytes received, verified and spooled.', () => stats.bytesReceived);
    counter('ferry_helper_encoded_bytes_total', 'Ciphertext bytes of finished jobs (counted when a job finishes).', () => stats.bytesEncoded);
    counter('ferry_helper_pushed_bytes_total', 'Share bytes pushed to storage servers by finished jobs.', () => stats.bytesPushed);
    counter('ferry_helper_jobs_done_total', 'Jobs whose shares were all pushed.', () => stats.jobsDone);

    this.durations = new Histogram({
      name: 'ferry_helper_job_duration_seconds',
      help: 'Time from the start of the successful attempt to its result (encode and push).',
      buckets: JOB_DURATION_BUCKETS,
      registers,
    });
    for (const s of stats.jobDurations) this.durations.observe(s); // jobs done before the exporter existed
    stats.on('jobDone', this.onJobDone);

    new Gauge({
      name: 'ferry_helper_jobs',
      help: 'Jobs by state (receiving, queued, encoding, pushing, failed, done, cancelled).',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = sources.jobCounts();
        for (const state of JOB_STATES) this.set({ state }, counts[state] ?? 0);
      },
    });
    new Gauge({
      name: 'ferry_helper_queue_jobs',
      help: 'Jobs in the encode queue: running, or waiting for a worker slot.',
      labelNames: ['queue'],
      registers,
      collect() {
        const d = helper.queue.depth;
        this.set({ queue: 'running' }, d.running);
        this.set({ queue: 'waiting' }, d.waiting);
      },
    });
    new Gauge({
      name: 'ferry_helper_holding_bytes',
      help: 'Bytes on disk in the holding dirs (incoming: being received; encoding: complete, waiting for or in encoding).',
      labelNames: ['dir'],
      registers,
      async collect() {
        const u = await helper.files.usage();
        this.set({ dir: 'incoming' }, u.incoming);
        this.set({ dir: 'encoding' }, u.encoding);
      },
    });
    new Gauge({
      name: 'ferry_helper_intake_paused',
      help: '1 while intake is paused (new uploads get 503), else 0.',
      registers,
      collect() {
        this.set(helper.intakePaused ? 1 : 0);
      },
    });
    new Gauge({ name: 'ferry_helper_info', help: 'Always 1; the labels describe the helper.', labelNames: ['version'], registers }).set({ version: sources.version ?? 'unknown' }, 1);

    const rates = sources.throughput?.bind(sources);
    if (rates) {
      new Gauge({
        name: 'ferry_helper_throughput_bytes_per_second',
        help: 'Bytes per second over the last minute, by flow: received (from clients), encoded, pushed (to storage servers).',
        labelNames: ['flow'],
        registers,
        collect() {
          const r = rates();
          for (const flow of ['received', 'encoded', 'pushed'] as const) this.set({ flow }, r[flow]);
        },
      });
    }

    const servers = sources.servers?.bind(sources);
    if (servers) {
      const labelNames = ['server_id', 'url'] as const;
      const per: { up?: Gauge; latency?: Gauge; space?: Gauge; shares?: Counter; bytes?: Counter } = {};
      // Registered first, so its collect fills the per-server metrics before they are read.
      new Gauge({
        name: 'ferry_helper_storage_servers',
        help: 'Storage servers configured.',
        registers,
        collect() {
          const list = servers();
          this.set(list.length);
          for (const m of Object.values(per)) m.reset();
          for (const s of list) {
            const l = { server_id: s.id ?? '', url: s.url };
            per.up?.set(l, s.reachable ? 1 : 0);
            if (s.latencyMs !== null) per.latency?.set(l, s.latencyMs / 1000);
            if (s.availableSpace !== null) per.space?.set(l, s.availableSpace);
            per.shares?.inc(l, s.sharesPushed);
            per.bytes?.inc(l, s.bytesPushed);
          }
        },
      });
      per.up = new Gauge({ name: 'ferry_helper_storage_server_up', help: '1 if the storage server answered the last probe, else 0.', labelNames, registers });
      per.latency = new Gauge({ name: 'ferry_helper_storage_server_latency_seconds', help: 'Latency of the last successful probe.', labelNames, registers });
      per.space = new Gauge({ name: 'ferry_helper_storage_server_available_bytes', help: 'Space the storage server would still allocate, at the last successful probe.', labelNames, registers });
      per.shares = new Counter({ name: 'ferry_helper_storage_server_shares_pushed_total', help: 'Shares that finished jobs pushed to the server.', labelNames, registers });
      per.bytes = new Counter({ name: 'ferry_helper_storage_server_pushed_bytes_total', help: 'Share bytes that finished jobs pushed to the server.', labelNames, registers });
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition: process metrics, then the helper's. */
  async render(): Promise<string> {
    const own = await this.registry.metrics();
    return `${await processMetrics().metrics()}\n${own}`;
  }

  close(): void {
    this.helper.stats.off('jobDone', this.onJobDone);
    this.registry.clear();
  }
}
