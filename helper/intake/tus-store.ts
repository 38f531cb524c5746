import type { Readable } from 'node:stream';
import { DataStore, Upload } from '@tus/utils';
import { FerryError } from '../../core/errors.js';
import { toErrorBody } from '../../runtime/http/errors.js';
import { jobGeometry } from '../jobs/geometry.js';
import type { Job } from '../jobs/job.js';
import type { JobStore } from '../jobs/job-store.js';
import { HELPER_PATHS } from '../protocol.js';
import type { SpoolFiles } from './spool-files.js';
import { writeVerified } from './verified-writer.js';

/** tus errors carry `{ status_code, body }`; ours keep the `{ error, message }` body. */
class TusHttpError extends Error {
  constructor(
    readonly status_code: number,
    readonly body: string,
  ) {
    super(body);
    this.name = 'TusHttpError';
  }
}

export function tusError(err: unknown): TusHttpError {
  const { status, body } = toErrorBody(err);
  return new TusHttpError(status, JSON.stringify(body));
}

/**
 * tus DataStore over the helper's spool. Upload ids are storage indexes, so
 * every client uploading the same file continues the same spool. Uploads are
 * created by the check route (which has the segment hashes), so tus creation
 * only accepts an id the helper already knows.
 */
export class SpoolDataStore extends DataStore {
  constructor(
    private readonly jobs: JobStore,
    private readonly files: SpoolFiles,
    private readonly onComplete: (si: string) => Promise<void>,
    private readonly commitEvery?: number,
    private readonly onReceived?: (si: string, bytes: number) => void,
  ) {
    super();
    this.extensions = ['creation', 'termination'];
  }

  private async receivingJob(id: string): Promise<Job> {
    const job = await this.jobs.get(id);
    if (!job || job.state === 'cancelled') throw tusError(new FerryError('NOT_FOUND', `no upload for ${id}; POST ${HELPER_PATHS.check} first`));
    return job;
  }

  override async create(upload: Upload): Promise<Upload> {
    const job = await this.receivingJob(upload.id);
    if (upload.size !== job.params.size) {
      throw tusError(new FerryError('CONFLICT', `Upload-Length ${upload.size} differs from the checked size ${job.params.size}`));
    }
    return this.toUpload(job);
  }

  override async getUpload(id: string): Promise<Upload> {
    return this.toUpload(await this.receivingJob(id));
  }

  override async write(stream: Readable, id: string, offset: number): Promise<number> {
    const job = await this.receivingJob(id);
    if (job.state !== 'receiving') {
      stream.resume();
      return job.received;
    }
    const geometry = jobGeometry(job);
    // The spool this body continues: if its hashes are replaced or it is cut meanwhile, nothing more is committed.
    const root = job.crypttextRoot;
    let last = job.received;
    try {
      const segmentHashes = await this.jobs.segmentHashes(id);
      const committed = await writeVerified({
        file: this.files.incomingPath(id),
        source: stream,
        offset,
        geometry,
        segmentHashes,
        commit: async (o) => {
          await this.jobs.update(id, (j) => {
            if (j.crypttextRoot !== root || j.received !== last || j.state !== 'receiving') {
              throw new FerryError('CONFLICT', `upload ${id} changed while this body was written (state ${j.state}, offset ${j.received}); check again`);
            }
            j.received = o;
          });
          this.onReceived?.(id, o - last);
          last = o;
        },
        commitEvery: this.commitEvery,
      });
      if (committed === geometry.size) await this.onComplete(id);
      return committed;
    } catch (err) {
      throw tusError(err);
    }
  }

  override async remove(id: string): Promise<void> {
    const job = await this.receivingJob(id);
    if (job.state !== 'receiving') throw tusError(new FerryError('CONFLICT', `upload ${id} is ${job.state}; only a receiving upload can be terminated`));
    await this.files.remove(id);
    await this.jobs.setState(id, 'cancelled');
  }

  private toUpload(job: Job): Upload {
    return new Upload({
      id: job.si,
      size: job.params.size,
      offset: job.received,
      metadata: { storageIndex: job.si },
      creation_date: new Date(job.createdAt).toISOString(),
    });
  }
}
