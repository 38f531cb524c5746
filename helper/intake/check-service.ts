import { FerryError } from '../../core/errors.js';
import { shareLayout } from '../../core/share-layout.js';
import { decodeUeb, uebHash } from '../../core/ueb.js';
import { KeyedMutex } from '../../runtime/lock.js';
import type { GridServer } from '../grid/grid.js';
import { shareMapOf } from '../grid/grid.js';
import { renewLeases } from '../grid/io.js';
import { surveyShares } from '../grid/locate.js';
import { publish, type EventSource } from '../diagnostics.js';
import { newJob, type Job } from '../jobs/job.js';
import type { JobStore } from '../jobs/job-store.js';
import { jobPath, uploadPath, type CheckAnswer } from '../protocol.js';
import { clientErrorText } from '../http/job-view.js';
import { happinessOf, type ShareGraph } from '../push/happiness.js';
import type { OwnerUsage } from './holding-reservations.js';
import { commonPrefixSegments, validateCheck, type CheckLimits, type ValidCheck } from './check-request.js';
import type { SpoolFiles } from './spool-files.js';

export interface CheckServiceDeps {
  jobs: JobStore;
  files: SpoolFiles;
  servers: () => Promise<GridServer[]>;
  /**
   * What a check may ask for, the holding quota, and `takeoverIdle`: how long
   * a receiving upload's client must have sent nothing before a check with
   * other segment hashes may replace it.
   */
  limits: CheckLimits & { holdingQuota: number; takeoverIdle: number } & Partial<{ maxUploadsPerToken: number; holdingPerToken: number }>;
  /** Bytes unfinished jobs reserve now (HoldingReservations). */
  reserved: () => number;
  /** What one token's unfinished uploads hold now (HoldingReservations); without it no per-token limit applies. */
  usage?: (client: string) => OwnerUsage;
  /** Called when a spool is complete (size 0 files are complete at once). */
  spoolComplete: (si: string) => Promise<void>;
  intakePaused: () => boolean;
  /** Checks are published as `ferry:intake:check` from this source. */
  source: EventSource;
}

/**
 * "Have it / send all / send the rest": Tahoe's helper answer, with a real
 * resume handshake. Checks for one storage index are serialised so two
 * clients racing on the same file share one spool.
 */
export class CheckService {
  private readonly mutex = new KeyedMutex();

  constructor(private readonly d: CheckServiceDeps) {}

  /** `client`: the id of the token that asks (helper/http/client-auth.ts clientIdOf); a new upload is theirs. */
  async check(body: unknown, client: string): Promise<CheckAnswer> {
    return this.checkValid(await validateCheck(body, this.d.limits), client);
  }

  /** A check already validated (CheckValidator, off the event loop). */
  checkValid(v: ValidCheck, client: string): Promise<CheckAnswer> {
    return this.mutex.run(v.si, () => this.decide(v, client));
  }

  private answered(status: CheckAnswer['status'], resumed = false): void {
    publish('ferry:intake:check', this.d.source, () => ({ status, resumed }));
  }

  private async decide(v: ValidCheck, client: string): Promise<CheckAnswer> {
    const { si } = v;
    let job = await this.d.jobs.get(si);
    if (job && job.state === 'cancelled') {
      await this.d.jobs.delete(si);
      job = undefined;
    }
    if (job) this.assertSameFile(job, v.params);

    if (job?.state === 'done' && job.result) {
      // have-it only for the ciphertext that was stored: the cap's crypttext root is checked by every download.
      const stored = Buffer.from(decodeUeb(Buffer.from(job.result.ueb, 'base64')).crypttextRoot).toString('hex');
      if (stored !== v.crypttextRoot) {
        throw new FerryError('CONFLICT', `storage index ${si} is stored from a different ciphertext (segment hashes differ)`);
      }
      const servers = await this.d.servers();
      const survey = await surveyShares(servers, si);
      const happiness = happinessOf(survey.existing);
      if (happiness >= v.params.happy) {
        await renewHolders(servers, survey.existing, si);
        this.answered('have-it');
        return { status: 'have-it', storageIndex: si, ueb: job.result.ueb, uebHash: job.result.uebHash, shareMap: shareMapOf(survey.existing), happiness };
      }
      // Shares were lost since: upload again (the push reuses what is left).
      await this.d.jobs.delete(si);
      job = undefined;
    }

    if (!job) {
      const present = await this.alreadyInGrid(v);
      if (present) {
        this.answered('have-it');
        return present;
      }
      if (this.d.intakePaused()) throw new FerryError('INTAKE_PAUSED', 'this helper is not accepting new uploads right now; retry later');
      this.reserveQuota(v.params.size);
      this.reserveFor(client, v.params.size);
      job = newJob({ si, state: 'receiving', params: v.params, crypttextRoot: v.crypttextRoot, owner: client }, Date.now());
      await this.d.files.createIncoming(si);
      await this.d.jobs.create(job, v.hashes);
      if (v.params.size === 0) {
        await this.d.spoolComplete(si);
        return this.inProgress(await this.d.jobs.require(si));
      }
      this.answered('send');
      return this.send(job, v.geometry.segmentSize);
    }

    if (job.state === 'receiving' && job.crypttextRoot !== v.crypttextRoot) {
      // The hash list is fixed while its upload is alive: only a stale one may be replaced.
      // A complete spool is about to be encoded, never stale.
      const idleMs = job.received === job.params.size ? 0 : await this.idleFor(job);
      if (idleMs < this.d.limits.takeoverIdle) {
        throw new FerryError('CONFLICT', `storage index ${si} is being uploaded from a different ciphertext (segment hashes differ); retry after it has been idle for ${Math.ceil(this.d.limits.takeoverIdle / 1000)} s`);
      }
      if (job.owner !== client) this.reserveFor(client, v.params.size);
      job = await this.takeOver(job, v.hashes, v.crypttextRoot, v.geometry.segmentSize, client);
    }
    if (job.crypttextRoot !== v.crypttextRoot) {
      throw new FerryError('CONFLICT', `storage index ${si} is already being encoded from a different ciphertext (segment hashes differ)`);
    }
    job = await this.join(job, client);
    if (job.state === 'receiving') {
      this.answered('send', job.received > 0);
      return this.send(job, v.geometry.segmentSize);
    }
    this.answered('in-progress');
    return this.inProgress(job);
  }

  /** Same storage index must mean the same parameters; anything else is a client bug or an attack. */
  private assertSameFile(job: Job, p: Job['params']): void {
    const q = job.params;
    if (q.size !== p.size || q.k !== p.k || q.n !== p.n || q.maxSegmentSize !== p.maxSegmentSize) {
      throw new FerryError('CONFLICT', `storage index ${job.si} is already known with size=${q.size} k=${q.k} n=${q.n} segsize=${q.maxSegmentSize}`);
    }
  }

  /** Since when the client of a receiving upload sent nothing: the spool's mtime moves with every byte written. */
  private async idleFor(job: Job): Promise<number> {
    const lastByte = await this.d.files.spoolMtime(job.si);
    return Date.now() - Math.max(job.createdAt, lastByte ?? 0);
  }

  /**
   * A stale upload of another ciphertext under the same index is replaced:
   * the verified prefix both hash lists agree on is kept, the rest is re-sent
   * and checked against the new hashes. Hashes and job change in one batch.
   */
  private async takeOver(job: Job, hashes: Uint8Array, root: string, segmentSize: number, client: string): Promise<Job> {
    const old = await this.d.jobs.segmentHashes(job.si);
    const keepSegments = commonPrefixSegments(old, hashes);
    return this.d.jobs.replaceSegmentHashes(job.si, hashes, (j) => {
      j.crypttextRoot = root;
      j.received = Math.min(j.received, keepSegments * segmentSize);
      j.owner = client;
      j.sharers = [];
    });
  }

  /** Another token checking in the same hash list may resume the upload and follow its job (convergence). */
  private async join(job: Job, client: string): Promise<Job> {
    if (job.owner === undefined || job.owner === client || job.sharers?.includes(client)) return job;
    return this.d.jobs.update(job.si, (j) => {
      if (j.owner !== client && !j.sharers?.includes(client)) j.sharers = [...(j.sharers ?? []), client];
    });
  }

  private send(job: Job, segmentSize: number): CheckAnswer {
    return {
      status: 'send',
      storageIndex: job.si,
      uploadPath: uploadPath(job.si),
      offset: job.received,
      missing: job.received < job.params.size ? [[job.received, job.params.size]] : [],
      segmentSize,
    };
  }

  private inProgress(job: Job): CheckAnswer {
    return { status: 'in-progress', storageIndex: job.si, state: job.state, statusPath: jobPath(job.si), ...(job.lastError ? { lastError: clientErrorText(job.lastError) } : {}) };
  }

  /** Without a job, the grid may still hold the file (uploaded through another helper). */
  private async alreadyInGrid(v: ValidCheck): Promise<CheckAnswer | undefined> {
    const servers = await this.d.servers();
    if (!servers.length) return undefined;
    const survey = await surveyShares(servers, v.si);
    const happiness = happinessOf(survey.existing);
    if (happiness < v.params.happy) return undefined;
    const ueb = await this.readUeb(v, survey.existing, servers);
    if (!ueb) return undefined;
    await renewHolders(servers, survey.existing, v.si);
    return { status: 'have-it', storageIndex: v.si, ueb: ueb.toString('base64'), uebHash: uebHash(ueb).toString('hex'), shareMap: shareMapOf(survey.existing), happiness };
  }

  private async readUeb(v: ValidCheck, existing: ShareGraph, servers: GridServer[]): Promise<Buffer | undefined> {
    const layout = shareLayout(v.geometry);
    const byId = new Map(servers.map((s) => [s.id, s]));
    for (const [shnum, holders] of existing) {
      for (const id of holders) {
        try {
          const bytes = Buffer.from(await byId.get(id)!.client.read(v.si, shnum, layout.uebOffset, layout.end, { signal: AbortSignal.timeout(10_000) }));
          const u = decodeUeb(bytes);
          if (u.size === v.params.size && u.k === v.params.k && u.n === v.params.n && Buffer.from(u.crypttextRoot).toString('hex') === v.crypttextRoot) return bytes;
        } catch {
          /* try the next share */
        }
      }
    }
    return undefined;
  }

  /**
   * A new upload for `client` (it will own it): within its count of receiving
   * uploads and its share of the holding space. A file that could never fit
   * is 413; one that fits once the token's other uploads finish is 507.
   */
  private reserveFor(client: string, size: number): void {
    const usage = this.d.usage?.(client);
    if (!usage) return;
    const { maxUploadsPerToken: maxUploads, holdingPerToken: perToken } = this.d.limits;
    if (maxUploads !== undefined && usage.receiving >= maxUploads) {
      throw new FerryError('TOO_MANY_REQUESTS', `this client token has ${usage.receiving} uploads receiving, the most limits.maxUploadsPerToken allows; finish or cancel one, or retry later`, {
        details: { limit: 'maxUploadsPerToken' },
      });
    }
    if (!perToken) return;
    if (size > perToken) {
      throw new FerryError('PAYLOAD_TOO_LARGE', `this file (${size} bytes) is larger than one client token may hold in this helper (limits.holdingPerToken: ${perToken} bytes)`, { details: { limit: 'holdingPerToken' } });
    }
    if (usage.bytes + size > perToken) {
      throw new FerryError('QUOTA_EXCEEDED', `this client token's unfinished uploads reserve ${usage.bytes} of its ${perToken} bytes (limits.holdingPerToken), this file needs ${size}; retry later`, {
        details: { limit: 'holdingPerToken' },
      });
    }
  }

  private reserveQuota(size: number): void {
    const quota = this.d.limits.holdingQuota;
    if (!quota) return;
    const reserved = this.d.reserved();
    if (reserved + size > quota) {
      throw new FerryError('QUOTA_EXCEEDED', `the helper's holding space is full: ${reserved} of ${quota} bytes reserved by unfinished uploads, this file needs ${size}; retry later`, { details: { limit: 'holdingQuota' } });
    }
  }
}

/** A have-it stands for the upload the client meant to make: the holders' leases are renewed as a push would set them. */
async function renewHolders(servers: GridServer[], existing: ShareGraph, si: string): Promise<void> {
  const holders = new Set([...existing.values()].flatMap((ids) => [...ids]));
  await renewLeases({ timeoutMs: 10_000 }, servers.filter((s) => holders.has(s.id)), si);
}
