import { FerryError } from '../core/errors.js';
import type { FileGeometry } from '../core/params.js';
import type { UploadJobView } from '../helper/protocol.js';
import type { HelperApi } from './helper-api.js';
import { sleep } from './retry.js';

/**
 * Polls the helper's job until it is done. A failed job is retried by the
 * helper with backoff, so failure is not final here unless the helper marks
 * it `permanent` (it cannot heal by waiting); otherwise what ends the wait is
 * `idleTimeoutMs` without any change (state, segments encoded, bytes pushed).
 * Returns undefined when the job went back to receiving or vanished: the
 * caller checks again.
 */
export async function waitForJob(
  api: HelperApi,
  si: string,
  g: FileGeometry,
  o: {
    signal?: AbortSignal;
    idleTimeoutMs: number;
    maxIntervalMs: number;
    what: string;
    onProgress?: (bytes: number, state: string) => void;
    /** A failed attempt the helper will retry: called once per new lastError. */
    onJobError?: (lastError: string, job: UploadJobView) => void;
  },
): Promise<UploadJobView | undefined> {
  let interval = Math.min(50, o.maxIntervalMs);
  let fingerprint = '';
  let lastChange = Date.now();
  let reported: string | undefined;
  for (;;) {
    let job: UploadJobView;
    try {
      job = await api.job(si);
    } catch (err) {
      if (err instanceof FerryError && err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
    o.onProgress?.(Math.min(g.size, job.segmentsEncoded * g.segmentSize), job.state);
    if (job.state === 'done') {
      if (!job.result) throw new FerryError('UPSTREAM_ERROR', `the helper reports job ${si} done without a result`);
      return job;
    }
    if (job.state === 'cancelled' || job.state === 'receiving') return undefined;
    if (job.state === 'failed' && job.permanent) {
      throw new FerryError(
        job.failureCode === 'NOT_ENOUGH_SERVERS' ? 'HAPPINESS_NOT_MET' : 'UPSTREAM_ERROR',
        `the helper cannot store ${o.what}: ${job.lastError ?? `its job failed for good (${job.failureCode ?? 'no reason given'})`}`,
        { details: { state: job.state, permanent: true, failureCode: job.failureCode, lastError: job.lastError } },
      );
    }
    if (job.state === 'failed' && job.lastError && job.lastError !== reported) {
      reported = job.lastError;
      o.onJobError?.(job.lastError, job);
    }
    const pushed = Object.values(job.pushedBytes).reduce((a, b) => a + b, 0);
    const now = `${job.state}:${job.segmentsEncoded}:${pushed}:${job.attempts}`;
    if (now !== fingerprint) {
      fingerprint = now;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > o.idleTimeoutMs) {
      throw new FerryError(
        'TIMEOUT',
        `the helper has all of ${o.what} but its job has not moved for ${Math.round(o.idleTimeoutMs / 1000)} s (state ${job.state}` +
          `${job.lastError ? `, last error: ${job.lastError}` : ''}); run the upload again later to collect the capability`,
        { details: { state: job.state, lastError: job.lastError } },
      );
    }
    await sleep(interval, o.signal);
    interval = Math.min(o.maxIntervalMs, Math.ceil(interval * 1.5));
  }
}
