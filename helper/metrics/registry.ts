import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { subscribe, type EventSource, type HelperEvent, type HelperEventName } from '../diagnostics.js';
import { JOB_STATES } from '../protocol.js';
import { eventCounters } from './event-counters.js';

/** What the exporter reads at scrape time, and whose events it counts. */
export interface MetricsDeps {
  /** The helper's own source and its gateway's: events from anyone else are not this helper's. */
  sources: readonly EventSource[];
  /** Jobs per state. */
  jobCounts(): Record<string, number>;
  queueDepth(): { running: number; waiting: number };
  /** Bytes on disk in the holding dirs. */
  holding(): Promise<{ incoming: number; encoding: number }>;
  intakePaused(): boolean;
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
 * follow the helper's events (helper/diagnostics.ts) from its own sources
 * only; gauges read the queue, the holding dirs and the job counts when
 * scraped.
 */
export class HelperMetrics {
  readonly registry = new Registry();
  private readonly unsubscribe: (() => void)[] = [];

  constructor(deps: MetricsDeps) {
    const registers = [this.registry];
    const on = <N extends HelperEventName>(name: N, fn: (event: HelperEvent<N>) => void) => {
      const sources = new Set(deps.sources);
      this.unsubscribe.push(
        subscribe(name, undefined, (event) => {
          if (sources.has(event.source)) fn(event);
        }),
      );
    };
    eventCounters(registers, on);

    const durations = new Histogram({
      name: 'ferry_helper_job_duration_seconds',
      help: 'Time from the start of the successful attempt to its result (encode and push).',
      buckets: JOB_DURATION_BUCKETS,
      registers,
    });
    on('ferry:jobs:done', ({ seconds }) => durations.observe(seconds));

    new Gauge({
      name: 'ferry_helper_jobs',
      help: 'Jobs by state (receiving, queued, encoding, failed, done, cancelled).',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = deps.jobCounts();
        for (const state of JOB_STATES) this.set({ state }, counts[state] ?? 0);
      },
    });
    new Gauge({
      name: 'ferry_helper_queue_jobs',
      help: 'Jobs in the encode queue: running, or waiting for a worker slot.',
      labelNames: ['queue'],
      registers,
      collect() {
        const d = deps.queueDepth();
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
        const u = await deps.holding();
        this.set({ dir: 'incoming' }, u.incoming);
        this.set({ dir: 'encoding' }, u.encoding);
      },
    });
    new Gauge({
      name: 'ferry_helper_intake_paused',
      help: '1 while intake is paused (new uploads get 503), else 0.',
      registers,
      collect() {
        this.set(deps.intakePaused() ? 1 : 0);
      },
    });
    new Gauge({ name: 'ferry_helper_info', help: 'Always 1; the labels describe the helper.', labelNames: ['version'], registers }).set({ version: deps.version ?? 'unknown' }, 1);

    const rates = deps.throughput?.bind(deps);
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

    const servers = deps.servers?.bind(deps);
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
    for (const off of this.unsubscribe) off();
    this.registry.clear();
  }
}
