import type { Job } from '../jobs/job.js';

/** What clients see of a job: progress and result, not internals like placement. */
export function jobView(job: Job) {
  return {
    storageIndex: job.si,
    kind: job.kind ?? 'upload',
    state: job.state,
    params: job.params,
    crypttextRoot: job.crypttextRoot,
    received: job.received,
    segmentsEncoded: job.segmentsEncoded,
    pushedBytes: job.pushedBytes,
    attempts: job.attempts,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    ...(job.nextAttemptAt !== undefined ? { nextAttemptAt: job.nextAttemptAt } : {}),
    ...(job.lastError ? { lastError: job.lastError } : {}),
    ...(job.result ? { result: job.result } : {}),
  };
}
