import os from 'node:os';
import path from 'node:path';
import { CodecPool } from '../core/erasure/index.js';
import { mkdirDurable } from '../runtime/fs/durable.js';
import { silentLogger, type Logger } from '../runtime/log.js';
import type { AdminDeps } from './admin/deps.js';
import type { HelperConfig } from './config.js';
import type { EventSource } from './diagnostics.js';
import type { EncodeFn } from './encode/encode-push.js';
import { helperGateway, type Gateway } from './gateway/gateway.js';
import { gatewayRoutes } from './gateway/router.js';
import { GridDirectory, type ClientFactory } from './grid/directory.js';
import type { HelperAppDeps } from './http/app.js';
import { CheckService } from './intake/check-service.js';
import { CheckValidator } from './intake/check-validator.js';
import { resolveHoldingLimits, type ResolvedHelperConfig } from './intake/holding-quota.js';
import { HoldingReservations } from './intake/holding-reservations.js';
import { IntakeSwitch } from './intake/intake-switch.js';
import { SpoolFiles } from './intake/spool-files.js';
import { SpoolSweeper } from './intake/sweep.js';
import { SpoolDataStore } from './intake/tus-store.js';
import { UploadRunner } from './intake/upload-runner.js';
import { OperatorActions } from './jobs/actions.js';
import { JobStore } from './jobs/job-store.js';
import { JobQueue } from './jobs/queue.js';
import { restartOnlyChanges, tokenChanges, type ReloadReport } from './reload.js';
import { RepairService, type RepairOptions } from './repair/service.js';

export interface HelperOptions {
  config: HelperConfig;
  log?: Logger;
  clientFactory: ClientFactory;
  /** Erasure encoder; default: a worker-thread pool running core's codec. */
  encode?: EncodeFn;
  now?: () => number;
  /** Repair settings and test hooks (helper/repair/). */
  repair?: RepairOptions;
}

/**
 * The helper's composition root: every part is built here, once, and handed
 * what it needs. HTTP is in helper/http/ and helper/admin/ (helper/start.ts
 * starts the listeners).
 */
export class Helper {
  /** This helper's identity in events (helper/diagnostics.ts): one per Helper. */
  readonly source: EventSource = {};
  readonly startedAt = Date.now();
  readonly log: Logger;
  readonly jobs: JobStore;
  readonly files: SpoolFiles;
  readonly grid: GridDirectory;
  private readonly intake = new IntakeSwitch();
  readonly queue: JobQueue;
  private readonly uploads: UploadRunner;
  private readonly checks: CheckService;
  private readonly checkValidator: CheckValidator;
  private readonly datastore: SpoolDataStore;
  readonly sweeper: SpoolSweeper;
  private readonly reservations: HoldingReservations;
  readonly actions: OperatorActions;
  /** Check and repair (helper/repair/): repair jobs run in the same queue. */
  readonly repairs: RepairService;
  /** The download gateway (helper/gateway/): its routes and its events' source. */
  readonly gateway: Gateway;
  private readonly pool: CodecPool | undefined;
  /** The running config: a reload replaces its clientTokens and storageServers (helper/reload.ts). */
  private current: ResolvedHelperConfig;

  get config(): ResolvedHelperConfig {
    return this.current;
  }

  private constructor(config: ResolvedHelperConfig, o: HelperOptions) {
    this.current = config;
    const log = (this.log = o.log ?? silentLogger());
    const now = o.now ?? Date.now;
    const { limits } = config;
    const jobs = (this.jobs = new JobStore(path.join(config.dataDir, 'jobs')));
    const files = (this.files = new SpoolFiles(config.dataDir));
    this.reservations = new HoldingReservations(jobs);
    const grid = (this.grid = new GridDirectory(config.storageServers, o.clientFactory));
    this.gateway = helperGateway(grid, config.defaults.maxSegmentSize, (msg) => log.warn(msg), limits.gatewayReadAhead);
    let encode = o.encode;
    if (!encode) {
      const pool = (this.pool = new CodecPool({ size: Math.max(1, Math.min(4, os.availableParallelism())) }));
      encode = (k, n, blocks, segmentLength) => pool.encodeHashed(k, n, blocks, segmentLength);
    }
    const queue = (this.queue = new JobQueue(
      jobs,
      (job, signal) => (job.kind === 'repair' ? this.repairs.run(job, signal) : this.uploads.run(job, signal)),
      { concurrency: limits.concurrency, baseBackoffMs: limits.retryBase, maxBackoffMs: limits.retryMax, maxAttempts: limits.maxAttempts, servers: () => grid.size, now },
      log,
    ));
    const servers = () => grid.servers();
    const uploads = (this.uploads = new UploadRunner({ jobs, files, queue, servers, encode, log, now, pipeline: limits.pipeline, source: this.source }));
    const spoolComplete = (si: string) => uploads.spoolComplete(si);
    this.checkValidator = new CheckValidator(limits);
    this.checks = new CheckService({
      jobs,
      files,
      servers,
      limits,
      reserved: () => this.reservations.total,
      usage: (client) => this.reservations.usage(client),
      spoolComplete,
      intakePaused: () => this.intake.paused,
      source: this.source,
    });
    this.datastore = new SpoolDataStore(jobs, files, spoolComplete, limits.commitEvery, (si, bytes) => uploads.received(si, bytes));
    const running = (si: string) => queue.isRunning(si);
    const stop = async (si: string) => {
      queue.abort(si);
      await queue.settled(si);
    };
    this.sweeper = new SpoolSweeper({ jobs, files, idleMs: () => limits.spoolIdle, retentionMs: () => limits.jobRetention, running, stop, now, log });
    this.actions = new OperatorActions({ jobs, queue, files, intake: this.intake, log, now, maxAttempts: limits.maxAttempts });
    this.repairs = new RepairService({ jobs, grid, queue, config, log, source: this.source, now, pool: this.pool }, o.repair);
  }

  static async open(o: HelperOptions): Promise<Helper> {
    await mkdirDurable(o.config.dataDir);
    const config = await resolveHoldingLimits(o.config, o.config.dataDir);
    const helper = new Helper(config, o);
    if (o.config.limits.holdingQuota === undefined) helper.log.info({ holdingQuota: config.limits.holdingQuota }, 'holding quota: limits.holdingQuotaFraction of the free disk');
    await helper.files.init();
    await helper.jobs.open();
    await helper.reservations.start();
    await helper.grid.probe().catch(() => undefined);
    await helper.uploads.recoverSpools();
    await helper.queue.start();
    helper.sweeper.start(o.config.limits.sweepInterval);
    return helper;
  }

  /** What the client API (helper/http/app.ts) needs. */
  httpDeps(): HelperAppDeps {
    const { config, log, jobs, checks, checkValidator, datastore, intake, repairs, grid, gateway } = this;
    return { config, log, jobs, checks, checkValidator, datastore, intake, repairs, clientTokens: () => this.current.clientTokens, serverCount: () => grid.size, reachableServers: () => grid.health().filter((h) => h.reachable).length, gatewayRoutes: gatewayRoutes({ gateway }) };
  }

  /**
   * A config reload (SIGHUP): takes the new client tokens and storage
   * servers at once, without a restart; logs what changed (token ids, never
   * tokens) and which other changed keys wait for a restart.
   */
  reload(next: HelperConfig): ReloadReport {
    const running = this.current;
    const clientTokens = tokenChanges(running.clientTokens, next.clientTokens);
    const storageServers = { ...this.grid.update(next.storageServers), count: next.storageServers.length };
    const needRestart = restartOnlyChanges(running, next);
    this.current = { ...running, clientTokens: next.clientTokens, storageServers: next.storageServers };
    if (storageServers.added.length || storageServers.retokened.length) void this.grid.probe().catch(() => undefined);
    const report: ReloadReport = { clientTokens, storageServers, needRestart };
    this.log.info(report, `config reloaded: client tokens +${clientTokens.added.length} -${clientTokens.removed.length} (${clientTokens.count} now), storage servers +${storageServers.added.length} -${storageServers.removed.length} (${storageServers.count} now)`);
    if (needRestart.length) this.log.warn({ needRestart }, `config reload: ${needRestart.join(', ')} changed; these take effect at the next restart`);
    if (storageServers.count < running.defaults.happy) this.log.warn(`config reload: ${storageServers.count} storage servers, fewer than defaults.happy (${running.defaults.happy}): uploads cannot succeed`);
    return report;
  }

  /** What the admin side (helper/admin/) needs; its metrics count the helper's and the gateway's events. */
  adminDeps(): AdminDeps {
    const { config, log, jobs, grid, queue, files, actions, sweeper, repairs, startedAt, source } = this;
    return { config, log, jobs, grid, queue, files, actions, sweeper, repairKnown: (si) => repairs.repairKnown(si), startedAt, source, eventSources: [source, this.gateway] };
  }

  async close(): Promise<void> {
    this.sweeper.close();
    this.reservations.close();
    this.gateway.close();
    await this.checkValidator.close();
    await this.queue.stop();
    await this.pool?.close();
    await this.grid.close();
    await this.jobs.close();
  }
}
