/**
 * Check and repair from the client: both go through the helper (the client
 * has no grid token), with a verify-cap only — a read-cap is reduced to its
 * verify-cap here, so the read key never leaves the machine.
 *
 *   checkFile:  POST /helper/v1/check-file, the report of which shares exist
 *               where and whether the file is healthy (--verify: every block);
 *   repairFile: POST /helper/v1/repair, then GET /helper/v1/jobs/<si> until
 *               the repair job is done (or failed).
 */
import type { z } from 'zod';
import { formatVerifyCap, toVerifyCap } from '../core/capability.js';
import { FerryError, type ErrorCode } from '../core/errors.js';
import { fileGeometry, MAX_SEGMENT_SIZE_LIMIT } from '../core/params.js';
import { CheckReport, HELPER_PATHS, RepairJobView, RepairResult, RepairStarted } from '../helper/protocol.js';
import { callJson, createAgent, helperBase, type CallContext } from './http.js';
import { parseHelperAnswer } from './helper-api.js';
import { DEFAULT_RETRY, sleep, type RetryPolicy } from './retry.js';

export type { CheckReport, RepairResult, RepairStarted } from '../helper/protocol.js';

export interface HelperTarget {
  helperUrl: string;
  token: string;
  signal?: AbortSignal;
  retry?: RetryPolicy;
}

export interface CheckOptions extends HelperTarget {
  /** Download and verify every block of every share (slow: reads the whole file n/k times). */
  verify?: boolean;
  /** Servers of happiness the file must reach to count as healthy (default: the helper's, within k..n). */
  happy?: number;
}

export interface RepairProgress {
  state: string;
  segmentsEncoded: number;
  numSegments: number;
  /** Ciphertext bytes of the segments regenerated so far, and of the file. */
  bytes: number;
  total: number;
  pushedBytes: number;
  attempts: number;
}

export interface RepairOptions extends CheckOptions {
  /** Wait for the repair to finish (default true); false returns as soon as it is queued. */
  wait?: boolean;
  /** Give up waiting when the job shows no change for this long (default 10 min). */
  idleTimeoutMs?: number;
  onProgress?: (p: RepairProgress) => void;
}

export interface RepairOutcome {
  storageIndex: string;
  verifyCap: string;
  state: 'done';
  attempts: number;
  result: RepairResult;
}


/** The verify-cap of any capability (a read-cap's key stays here). */
export function verifyCapFor(cap: string): string {
  return formatVerifyCap(toVerifyCap(cap));
}

async function withContext<T>(o: HelperTarget, timeoutMs: number, fn: (ctx: CallContext, base: string) => Promise<T>): Promise<T> {
  const agent = createAgent(o.helperUrl);
  try {
    return await fn({ agent, token: o.token, signal: o.signal, retry: o.retry ?? DEFAULT_RETRY, timeoutMs }, helperBase(o.helperUrl));
  } finally {
    await agent.destroy();
  }
}

/** Asks the helper where the file's shares are and whether they are good. */
export async function checkFile(cap: string, o: CheckOptions): Promise<CheckReport> {
  const verifyCap = verifyCapFor(cap);
  // A full verification reads every share: no per-request deadline (Ctrl-C still stops it).
  return withContext(o, o.verify ? 0 : 120_000, async (ctx, base) => {
    const body = { cap: verifyCap, ...(o.verify ? { verify: true } : {}), ...(o.happy !== undefined ? { happy: o.happy } : {}) };
    return parseHelperAnswer(CheckReport, await callJson(ctx, 'POST', `${base}${HELPER_PATHS.checkFile}`, 'check', body), 'check');
  });
}

function codeOf(message: string): ErrorCode {
  if (/not enough shares/i.test(message)) return 'NOT_ENOUGH_SHARES';
  if (/not healthy|happiness/i.test(message)) return 'HAPPINESS_NOT_MET';
  if (/do not match|inconsistent|integrity/i.test(message)) return 'INTEGRITY_ERROR';
  return 'UPSTREAM_ERROR';
}

/**
 * Queues a repair at the helper and (unless `wait: false`) follows it until
 * it is done. A failed attempt ends the wait with its error (the helper
 * retries the job with backoff; run the repair again to follow it).
 */
export async function repairFile(cap: string, o: RepairOptions & { wait: false }): Promise<RepairStarted>;
export async function repairFile(cap: string, o: RepairOptions): Promise<RepairOutcome>;
export async function repairFile(cap: string, o: RepairOptions): Promise<RepairOutcome | RepairStarted> {
  const verifyCap = verifyCapFor(cap);
  return withContext(o, 120_000, async (ctx, base) => {
    const body = { cap: verifyCap, ...(o.verify ? { verify: true } : {}), ...(o.happy !== undefined ? { happy: o.happy } : {}) };
    const started = parseHelperAnswer(RepairStarted, await callJson(ctx, 'POST', `${base}${HELPER_PATHS.repair}`, 'repair', body), 'repair');
    if (o.wait === false) return started;
    const si = started.storageIndex;
    const url = new URL(started.statusPath, `${base}/`).toString();
    const idleTimeoutMs = o.idleTimeoutMs ?? 600_000;
    let interval = 50;
    let fingerprint = '';
    let lastChange = Date.now();
    for (;;) {
      let job: z.infer<typeof RepairJobView>;
      try {
        job = parseHelperAnswer(RepairJobView, await callJson(ctx, 'GET', url, 'repair status'), 'repair status');
      } catch (err) {
        if (err instanceof FerryError && err.code === 'NOT_FOUND') throw new FerryError('CONFLICT', `the repair of ${si} gave way to an upload of the same file; check the file again when it is done`);
        throw err;
      }
      const p = job.params;
      const g = fileGeometry(p.size, { k: p.k, n: p.n, maxSegmentSize: Math.min(MAX_SEGMENT_SIZE_LIMIT, Math.max(1, p.maxSegmentSize)) });
      const pushed = Object.values(job.pushedBytes).reduce((a, b) => a + b, 0);
      o.onProgress?.({
        state: job.state,
        segmentsEncoded: job.segmentsEncoded,
        numSegments: g.numSegments,
        bytes: job.state === 'done' ? p.size : Math.min(p.size, job.segmentsEncoded * g.segmentSize),
        total: p.size,
        pushedBytes: pushed,
        attempts: job.attempts,
      });
      if (job.state === 'done') {
        return { storageIndex: si, verifyCap, state: 'done', attempts: job.attempts, result: parseHelperAnswer(RepairResult, job.result, 'repair result') };
      }
      if (job.state === 'receiving') throw new FerryError('CONFLICT', `an upload of ${si} took over from the repair; check the file again when it is done`);
      if (job.state === 'cancelled') throw new FerryError('ABORTED', `the repair of ${si} was cancelled at the helper${job.lastError ? `: ${job.lastError}` : ''}`);
      // A failed attempt: the job is failed, or (retried already) running again with its error kept.
      if (job.state === 'failed' || (job.attempts > 1 && job.lastError)) {
        const msg = job.lastError ?? 'unknown error';
        throw new FerryError(codeOf(msg), `repair of ${si} failed: ${msg} (the helper retries it with backoff; run ferry repair again to follow it)`, {
          details: { state: job.state, attempts: job.attempts },
        });
      }
      const now = `${job.state}:${job.segmentsEncoded}:${pushed}:${job.attempts}`;
      if (now !== fingerprint) {
        fingerprint = now;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > idleTimeoutMs) {
        throw new FerryError('TIMEOUT', `the repair of ${si} has not moved for ${Math.round(idleTimeoutMs / 1000)} s (state ${job.state}); run ferry repair again later to follow it`);
      }
      await sleep(interval, o.signal);
      interval = Math.min(1000, Math.ceil(interval * 1.5));
    }
  });
}
