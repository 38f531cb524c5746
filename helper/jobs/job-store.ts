import { EventEmitter } from 'node:events';
import { Level } from 'level';
import { FerryError } from '../../core/errors.js';
import { KeyedMutex } from '../../runtime/lock.js';
import type { JobState } from '../protocol.js';
import type { Job } from './job.js';

/** A record as stored: jobs written before repairs existed have no `kind`. */
type StoredJob = Omit<Job, 'kind'> & { kind?: Job['kind'] };

/** The one place a stored record becomes a Job: a record without `kind` is an upload. */
function decode(stored: StoredJob): Job {
  return (stored.kind === undefined ? { ...stored, kind: 'upload' } : stored) as Job;
}

/**
 * Jobs and their segment-hash lists in LevelDB. Every state change is a
 * synchronous (fsynced) write: after `kill -9` a job resumes from exactly
 * what this store says.
 */
// classic-level honours `sync` (fsync the write-ahead log); abstract-level's types omit it.
const SYNC = { sync: true } as object;
const NOSYNC = { sync: false } as object;

export class JobStore extends EventEmitter<{ change: [Job] }> {
  private readonly db: Level<string, string>;
  private readonly jobs;
  private readonly hashes;
  /** Read-modify-write cycles of one job never interleave (a progress tick must not undo a state change). */
  private readonly mutex = new KeyedMutex();

  constructor(dir: string) {
    super();
    this.setMaxListeners(0); // every job waiting on its spool listens for changes
    this.db = new Level<string, string>(dir);
    this.jobs = this.db.sublevel<string, StoredJob>('jobs', { valueEncoding: 'json' });
    this.hashes = this.db.sublevel<string, Uint8Array>('hashes', { valueEncoding: 'view' });
  }

  async open(): Promise<void> {
    await this.db.open();
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  async get(si: string): Promise<Job | undefined> {
    const stored = await this.jobs.get(si);
    return stored === undefined ? undefined : decode(stored);
  }

  async require(si: string): Promise<Job> {
    const job = await this.get(si);
    if (!job) throw new FerryError('NOT_FOUND', `no upload or job for storage index ${si}`);
    return job;
  }

  async create(job: Job, segmentHashes: Uint8Array): Promise<void> {
    await this.db.batch()
      .put(job.si, job, { sublevel: this.jobs })
      .put(job.si, segmentHashes, { sublevel: this.hashes })
      .write(SYNC);
    this.emit('change', job);
  }

  async segmentHashes(si: string): Promise<Uint8Array> {
    const h = await this.hashes.get(si);
    if (!h) throw new FerryError('NOT_FOUND', `no segment hashes for ${si}`);
    return h;
  }

  /**
   * Replaces the hash list and changes the job in one fsynced batch: a crash
   * never leaves a job whose crypttext root is not the root of its hashes.
   */
  async replaceSegmentHashes(si: string, segmentHashes: Uint8Array, fn: (job: Job) => void): Promise<Job> {
    return this.mutex.run(si, async () => {
      const job = await this.require(si);
      fn(job);
      job.updatedAt = Date.now();
      await this.db.batch()
        .put(si, job, { sublevel: this.jobs })
        .put(si, segmentHashes, { sublevel: this.hashes })
        .write(SYNC);
      this.emit('change', job);
      return job;
    });
  }

  /** Read-modify-write of one job; `durable` = fsync before returning (state changes, spool commits). */
  async update(si: string, fn: (job: Job) => void, durable = true): Promise<Job> {
    return this.mutex.run(si, async () => {
      const job = await this.require(si);
      fn(job);
      job.updatedAt = Date.now();
      await this.jobs.put(si, job, durable ? SYNC : NOSYNC);
      this.emit('change', job);
      return job;
    });
  }

  async setState(si: string, state: JobState, patch: Partial<Job> = {}): Promise<Job> {
    return this.update(si, (j) => {
      Object.assign(j, patch);
      j.state = state;
    });
  }

  async delete(si: string): Promise<void> {
    await this.db.batch().del(si, { sublevel: this.jobs }).del(si, { sublevel: this.hashes }).write(SYNC);
  }

  async list(filter?: (j: Job) => boolean): Promise<Job[]> {
    const out: Job[] = [];
    for await (const stored of this.jobs.values()) {
      const job = decode(stored);
      if (!filter || filter(job)) out.push(job);
    }
    return out;
  }
}
