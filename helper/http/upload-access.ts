import type { RequestHandler } from 'express';
import { FerryError } from '../../core/errors.js';
import { isStorageIndex } from '../../core/storage-index.js';
import { sendError } from '../../runtime/http/errors.js';
import type { Job } from '../jobs/job.js';
import type { JobStore } from '../jobs/job-store.js';
import { TUS_VERSION } from '../protocol.js';
import { clientOf } from './client-auth.js';

/**
 * Who may do what to an upload (docs/protocol.md, "Who may touch an upload").
 * The token that created it may do anything; a token that checked in the
 * same hash list (a sharer: same ciphertext, convergence) may resume it and
 * follow its job, since every byte is verified against the fixed hashes, but
 * not terminate it. Jobs from before owners were recorded are open to all.
 */
export function mayFollow(job: Job, client: string): boolean {
  return job.owner === undefined || job.owner === client || (job.sharers?.includes(client) ?? false);
}

export function mayTerminate(job: Job, client: string): boolean {
  return job.owner === undefined || job.owner === client;
}

export function notYours(si: string): FerryError {
  return new FerryError('FORBIDDEN', `upload ${si} belongs to another client token; POST the check with the same segment hashes to share it`);
}

/** Gate in front of the tus routes of one upload: HEAD/PATCH need the owner or a sharer, DELETE the owner. */
export function uploadAccess(jobs: Pick<JobStore, 'get'>): RequestHandler {
  return (req, res, next) => {
    const si = req.path.split('/').pop() ?? '';
    if (!isStorageIndex(si)) {
      next();
      return;
    }
    void jobs.get(si).then(
      (job) => {
        const client = clientOf(res);
        const allowed = !job || (req.method === 'DELETE' ? mayTerminate(job, client) : mayFollow(job, client));
        if (allowed) {
          next();
          return;
        }
        res.setHeader('Tus-Resumable', TUS_VERSION);
        sendError(res, notYours(si));
      },
      (err: unknown) => next(err),
    );
  };
}
