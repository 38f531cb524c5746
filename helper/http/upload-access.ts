import { FerryError } from '../../core/errors.js';
import { bearerToken } from '../../runtime/http/auth.js';
import { tusError } from '../intake/tus-store.js';
import type { Job } from '../jobs/job.js';
import type { JobStore } from '../jobs/job-store.js';
import { clientIdOf } from './client-auth.js';

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

/**
 * tus' onIncomingRequest: runs with the upload id exactly as tus parsed it
 * from the URL (after anyBearer let the request in), before any handler.
 * DELETE needs the owner; every other method the owner or a sharer.
 */
export function uploadAccess(jobs: Pick<JobStore, 'get'>): (req: Request, id: string) => Promise<void> {
  return async (req, id) => {
    const job = await jobs.get(id);
    if (!job) return; // tus answers 404 itself
    const token = bearerToken(req.headers.get('authorization') ?? undefined);
    const client = token === undefined ? '' : clientIdOf(token);
    const allowed = req.method === 'DELETE' ? mayTerminate(job, client) : mayFollow(job, client);
    if (!allowed) throw tusError(notYours(id));
  };
}
