import type { z } from 'zod';
import type { Job } from '../jobs/job.js';
import type { JobView } from '../protocol.js';

/** What clients see of a job (protocol.ts JobView): progress and result, not internals like placement. */
export function jobView(job: Job): z.input<typeof JobView> {
  return {
    storageIndex: job.si,
    kind: job.kind,
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
