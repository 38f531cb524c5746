/**
 * Check and repair inside the helper: the check-file answer, repair jobs in
 * the helper's job store and queue (kind 'repair', keyed by storage index
 * like uploads, so they resume after a crash like any other job), the admin
 * action, and keeping repair records from getting in the way of a later
 * upload of the same file.
 *
 * Capabilities are turned into verify-caps as soon as they arrive: a read
 * key is never stored or logged.
 */
import { formatVerifyCap, toVerifyCap, type VerifyCap } from '../../core/capability.js';
import type { CodecPool } from '../../core/erasure/index.js';
import { FerryError, isFerryError } from '../../core/errors.js';
import { MAX_SEGMENT_SIZE_LIMIT, fileGeometry } from '../../core/params.js';
import { formatStorageIndex, parseStorageIndex } from '../../core/storage-index.js';
import { KeyedMutex } from '../../runtime/lock.js';
import type { Logger } from '../../runtime/log.js';
import type { ValidCheck } from '../intake/check-request.js';
import { CheckFileRequest, jobPath, RepairRequest, type CheckReport, type JobState, type RepairStarted } from '../protocol.js';
import type { HelperConfig } from '../config.js';
import type { GridDirectory } from '../grid/directory.js';
import { isTerminal, newJob, type CorruptShare, type Job, type JobParams } from '../jobs/job.js';
import { jobGeometry } from '../jobs/geometry.js';
import type { JobStore } from '../jobs/job-store.js';
import type { JobQueue } from '../jobs/queue.js';
import { publish, type EventSource } from '../diagnostics.js';
import { buildCheckReport } from './check-report.js';
import { inThreadCodec, poolCodec, type RepairCodec } from './codec.js';
import { inconsistentDecode } from './decode-check.js';
import { inspectFile } from './inspect.js';
import { DEFAULT_REPAIR_SETTINGS, runRepair, type RepairHooks, type RepairSettings } from './repair-job.js';
import { copyKey } from '../grid/grid.js';
import { VerifySlots } from './verify-slots.js';

export interface RepairOptions extends Partial<RepairSettings> {
  hooks?: RepairHooks;
}

export interface RepairDeps {
  jobs: JobStore;
  grid: GridDirectory;
  queue: JobQueue;
  config: HelperConfig;
  log: Logger;
  /** The helper's identity in events: a finished repair is published as ferry:jobs:done. */
  source: EventSource;
  now: () => number;
  /** The helper's codec workers; without them repairs code in this thread. */
  pool?: CodecPool;
}

/** Bad copies found by checks, remembered for the repairs that follow (per storage index, newest 1000 files). */
const REMEMBERED_FILES = 1000;

const ACTIVE = new Set<JobState>(['queued', 'encoding']);

export class RepairService {
  readonly hooks: RepairHooks;
  readonly settings: RepairSettings;
  private readonly codec: RepairCodec;
  private readonly mutex = new KeyedMutex();
  private readonly found = new Map<string, Map<string, CorruptShare>>();
  /** check-file --verify runs at most limits.maxConcurrentVerifies at once; the rest queue. */
  readonly verifySlots: VerifySlots;

  constructor(
    private readonly d: RepairDeps,
    o: RepairOptions = {},
  ) {
    const { hooks, ...settings } = o;
    this.hooks = hooks ?? {};
    this.settings = { ...DEFAULT_REPAIR_SETTINGS, ...settings };
    this.codec = d.pool ? poolCodec(d.pool) : inThreadCodec();
    this.verifySlots = new VerifySlots(d.config.limits.maxConcurrentVerifies);
  }

  private happyFor(cap: VerifyCap, asked: number | undefined): number {
    if (asked !== undefined) {
      if (asked < cap.k || asked > cap.n) throw new FerryError('INVALID_PARAMETERS', `happy=${asked} must be between k=${cap.k} and n=${cap.n}`);
      return asked;
    }
    return Math.min(cap.n, Math.max(cap.k, this.d.config.defaults.happy));
  }

  /** POST /helper/v1/check-file: where the shares are, whether they are good, whether the file is healthy. */
  async check(body: unknown, signal?: AbortSignal): Promise<CheckReport> {
    const req = CheckFileRequest.parse(body);
    const cap = toVerifyCap(req.cap);
    const si = formatStorageIndex(cap.storageIndex);
    const happy = this.happyFor(cap, req.happy);
    const verify = req.verify ?? false;
    const known = verify ? undefined : await this.knownCorrupt(si, formatVerifyCap(cap));
    const inspect = async () =>
      inspectFile(cap, si, await this.d.grid.servers(), {
        io: { timeoutMs: this.settings.timeoutMs, signal },
        surveyTimeoutMs: this.settings.surveyTimeoutMs,
        verify,
        // A quick check cannot see a bad block: copies found bad before (by a check or a repair) stay bad. --verify looks afresh.
        knownCorrupt: known,
        verifySettings: { wholeShareMax: this.settings.wholeShareMax, windowBytes: this.settings.windowBytes },
      });
    const insp = verify ? await this.verifySlots.run(inspect, signal) : await inspect();
    if (insp.file) this.remember(si, known ? insp.corrupt.filter((c) => !known.has(copyKey(c.shnum, c.server))) : insp.corrupt);
    if (verify) for (const v of insp.verdicts) if (v.status === 'good') this.found.get(si)?.delete(copyKey(v.copy.shnum, v.copy.server.id));
    const io = { timeoutMs: this.settings.timeoutMs, signal };
    const inconsistent = verify ? await inconsistentDecode(insp, { codec: this.codec, io, windowBytes: this.settings.windowBytes }) : undefined;
    const report = buildCheckReport(insp, happy, this.d.grid.health(), inconsistent);
    this.d.log.info({ si, verified: report.verified, good: report.goodShares, corrupt: report.corrupt.length, happiness: report.happiness, healthy: report.healthy }, 'file checked');
    return report;
  }

  /** Copies of `si` found bad before: by checks since this helper started, and by repair jobs (persisted). */
  private async knownCorrupt(si: string, verifyCap: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const job = await this.d.jobs.get(si);
    const fromJob = job?.repair?.verifyCap === verifyCap ? [...(job.repair.corrupt ?? []), ...(job.result?.corrupt ?? [])] : [];
    for (const c of [...fromJob, ...(this.found.get(si)?.values() ?? [])]) out.set(copyKey(c.shnum, c.server), `${c.reason} (found earlier)`);
    return out;
  }

  private remember(si: string, corrupt: CorruptShare[]): void {
    if (corrupt.length === 0) return;
    const known = this.found.get(si) ?? new Map<string, CorruptShare>();
    for (const c of corrupt) known.set(copyKey(c.shnum, c.server), c);
    this.found.delete(si);
    this.found.set(si, known);
    while (this.found.size > REMEMBERED_FILES) this.found.delete(this.found.keys().next().value as string);
  }

  /** POST /helper/v1/repair: queues a repair job (or answers the one already queued or running). */
  async start(body: unknown): Promise<RepairStarted> {
    const req = RepairRequest.parse(body);
    const cap = toVerifyCap(req.cap);
    return this.startFor(cap, { verify: req.verify ?? false, happy: req.happy });
  }

  async startFor(cap: VerifyCap, o: { verify: boolean; happy?: number }): Promise<RepairStarted> {
    const si = formatStorageIndex(cap.storageIndex);
    const verifyCap = formatVerifyCap(cap);
    const happyAsked = o.happy === undefined ? undefined : this.happyFor(cap, o.happy);
    return this.mutex.run(si, async () => {
      const prev = await this.d.jobs.get(si);
      const statusPath = jobPath(si);
      if (prev) {
        const kind = prev.kind;
        const finished = isTerminal(prev.state);
        // A finished upload may still be removing its spool: let it unwind.
        if (kind === 'upload' && finished) await this.d.queue.settled(si);
        const running = this.d.queue.isRunning(si);
        if (kind === 'upload' && (running || !finished)) {
          throw new FerryError('CONFLICT', `an upload of ${si} is in progress (${prev.state}); repair the file once it is done`, { details: { state: prev.state } });
        }
        if (kind === 'repair' && (running || ACTIVE.has(prev.state))) {
          if (prev.repair?.verifyCap === verifyCap) return { storageIndex: si, verifyCap, state: prev.state, statusPath, created: false };
          // Another capability: it gives way once it has failed (a wrong capability never succeeds), not before.
          if (!prev.lastError) throw new FerryError('CONFLICT', `a repair of ${si} with another capability is ${prev.state}`, { details: { state: prev.state } });
        }
        // A finished or failed job: a new repair replaces its record. A failed repair's retry timer goes.
        this.d.queue.abort(si);
        await this.d.queue.settled(si);
      }
      const sameFile = prev && prev.params.size === cap.size && prev.params.k === cap.k && prev.params.n === cap.n;
      const params: JobParams = sameFile
        ? { ...prev.params, happy: happyAsked ?? prev.params.happy }
        : {
            size: cap.size,
            k: cap.k,
            n: cap.n,
            happy: happyAsked ?? this.happyFor(cap, undefined),
            maxSegmentSize: Math.min(MAX_SEGMENT_SIZE_LIMIT, this.d.config.defaults.maxSegmentSize),
          };
      const corrupt = new Map<string, CorruptShare>();
      if (prev?.repair?.verifyCap === verifyCap) for (const c of prev.repair.corrupt ?? []) corrupt.set(copyKey(c.shnum, c.server), c);
      for (const [key, c] of this.found.get(si) ?? []) corrupt.set(key, c);
      const job = newJob(
        {
          si,
          kind: 'repair',
          state: 'queued',
          params,
          crypttextRoot: sameFile ? prev.crypttextRoot : '',
          repair: { verifyCap, verify: o.verify, ...(corrupt.size ? { corrupt: [...corrupt.values()] } : {}) },
        },
        this.d.now(),
      );
      await this.d.jobs.create(job, new Uint8Array(0));
      this.d.queue.enqueue(si);
      this.d.log.info({ si, verify: o.verify, replaced: prev ? `${prev.kind}:${prev.state}` : undefined }, 'repair queued');
      const stored = await this.d.jobs.get(si);
      return { storageIndex: si, verifyCap, state: stored?.state ?? 'queued', statusPath, created: true };
    });
  }

  /** Admin action: repair a file the helper knows (a finished upload or an earlier repair) by storage index. */
  async repairKnown(si: string): Promise<Job> {
    parseStorageIndex(si);
    const job = await this.d.jobs.require(si);
    let verifyCap = job.repair?.verifyCap;
    if (!verifyCap && job.result) {
      verifyCap = formatVerifyCap({ storageIndex: parseStorageIndex(si), uebHash: Buffer.from(job.result.uebHash, 'hex'), k: job.params.k, n: job.params.n, size: job.params.size });
    }
    if (!verifyCap) {
      throw new FerryError('CONFLICT', `job ${si} is ${job.state} and has no result: its capability is unknown here; repair it with POST /helper/v1/repair and its cap`);
    }
    await this.startFor(toVerifyCap(verifyCap), { verify: job.repair?.verify ?? false, happy: job.params.happy });
    return this.d.jobs.require(si);
  }

  /**
   * Called before an upload check (POST /helper/v1/check). A repair record
   * must not stand in the way of uploading the same file: a failed or
   * cancelled repair gives way to the upload, and a queued, running or
   * finished one takes the uploader's maximum segment size (which a repair
   * cannot know: only the effective segment size is in the UEB) when it
   * describes the same encoding, so the check answers in-progress or have-it
   * instead of a conflict.
   */
  async beforeUploadCheck(v: ValidCheck): Promise<void> {
    const { si } = v;
    await this.mutex.run(si, async () => {
      const job = await this.d.jobs.get(si);
      if (!job || job.kind !== 'repair') return;
      const p = job.params;
      if (v.params.size !== p.size || v.params.k !== p.k || v.params.n !== p.n) return; // the check answers CONFLICT
      const active = this.d.queue.isRunning(si) || ACTIVE.has(job.state);
      // A repair that failed (even one being retried now) gives way: the uploader has every byte.
      if (job.state !== 'done' && (!active || job.lastError)) {
        this.d.queue.abort(si);
        await this.d.queue.settled(si);
        await this.d.jobs.delete(si);
        this.d.log.info({ si, was: job.state }, 'repair record replaced by an upload of the same file');
        return;
      }
      const learnt = job.crypttextRoot !== '';
      const same = !learnt || fileGeometry(p.size, { k: p.k, n: p.n, maxSegmentSize: v.params.maxSegmentSize }).segmentSize === jobGeometry(job).segmentSize;
      if (!same || p.maxSegmentSize === v.params.maxSegmentSize) return;
      await this.d.jobs.update(si, (j) => {
        j.params = { ...j.params, maxSegmentSize: v.params.maxSegmentSize };
        if (j.crypttextRoot === '') j.crypttextRoot = v.crypttextRoot;
      });
    });
  }

  /** The queue's runner for repair jobs. */
  async run(job: Job, signal: AbortSignal): Promise<void> {
    const si = job.si;
    const spec = job.repair;
    if (!spec) throw new FerryError('INTERNAL', `repair job ${si} has no repair spec`);
    const cap = toVerifyCap(spec.verifyCap);
    const started = this.d.now();
    // lastError stays until the repair succeeds: the client waiting on it sees why an attempt failed.
    const current = await this.d.jobs.setState(si, 'encoding', { attempts: job.attempts + 1, startedAt: started, nextAttemptAt: undefined, pushedBytes: {}, segmentsEncoded: 0 });
    let result;
    try {
      result = await runRepair({
        si,
        cap,
        verify: spec.verify,
        happy: current.params.happy,
        placement: current.placement,
        knownCorrupt: current.repair?.corrupt ?? [],
        servers: () => this.d.grid.servers(),
        codec: this.codec,
        settings: this.settings,
        hooks: this.hooks,
        signal,
        log: this.d.log,
        createdAt: current.createdAt,
        learnt: async (file) => {
          const hex = Buffer.from(file.ueb.crypttextRoot).toString('hex');
          const segmentSize = file.ueb.segmentSize;
          await this.d.jobs.update(si, (j) => {
            j.crypttextRoot = hex;
            if (jobGeometry(j).segmentSize !== segmentSize) j.params = { ...j.params, maxSegmentSize: Math.min(MAX_SEGMENT_SIZE_LIMIT, segmentSize) };
          });
        },
        savePlacement: async (placement) => {
          await this.d.jobs.update(si, (j) => (j.placement = placement));
        },
        saveCorrupt: async (corrupt) => {
          await this.d.jobs.update(si, (j) => {
            if (j.repair) j.repair.corrupt = corrupt;
          });
        },
        progress: async ({ segmentsEncoded, pushedBytes, final }) => {
          const save = this.d.jobs.update(
            si,
            (j) => {
              j.segmentsEncoded = segmentsEncoded;
              j.pushedBytes = { ...pushedBytes };
            },
            false,
          );
          if (final) await save;
          else void save.catch(() => undefined);
        },
      });
    } catch (err) {
      if (!signal.aborted) {
        const code = isFerryError(err) ? err.code : 'INTERNAL';
        await this.d.jobs
          .update(si, (j) => {
            if (j.repair) j.repair.lastErrorCode = code;
          }, false)
          .catch(() => undefined);
      }
      throw err;
    }
    const done = await this.d.jobs.update(si, (j) => {
      j.state = 'done';
      j.result = result;
      j.finishedAt = this.d.now();
      j.lastError = undefined;
      if (j.repair) j.repair.lastErrorCode = undefined;
    });
    publish('ferry:jobs:done', this.d.source, () => ({
      si,
      kind: 'repair',
      seconds: (this.d.now() - started) / 1000,
      size: done.params.size,
      pushedBytes: done.pushedBytes,
      placement: done.placement,
      pushed: result.pushed,
    }));
    this.d.log.info({ si, repaired: result.repaired, corrupt: result.corrupt?.length ?? 0, happiness: result.happiness }, 'repair done');
  }
}
