import type { z } from 'zod';
import type { Job } from '../jobs/job.js';
import type { JobView } from '../protocol.js';

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>(),;]+/gi;

/**
 * Error text as a client may see it: storage-server URLs are the operator's
 * business (the admin views keep them), so each becomes "a storage server".
 */
export function clientErrorText(message: string): string {
  return message.replace(URL_IN_TEXT, 'a storage server');
}

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
    ...(job.lastError ? { lastError: clientErrorText(job.lastError) } : {}),
    ...(job.state === 'failed' && job.permanent ? { permanent: true, failureCode: job.failureCode } : {}),
    ...(job.result ? { result: job.result } : {}),
  };
}
