import { shareLayout } from '../../core/share-layout.js';
import type { ServerHealth } from '../grid/directory.js';
import { jobGeometry } from '../jobs/geometry.js';
import type { Job } from '../jobs/job.js';

/** Jobs the operator is still waiting on (the live page lists them). */
export const ACTIVE_STATES = ['receiving', 'queued', 'encoding', 'failed'] as const;

export function isActive(job: Pick<Job, 'state'>): boolean {
  return (ACTIVE_STATES as readonly string[]).includes(job.state);
}

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

/** What a job has done so far, in bytes, and what it will have to do. */
export function progressOf(job: Job) {
  const g = jobGeometry(job);
  const shareSize = shareLayout(g).end;
  const shares = job.state === 'done' && job.result ? job.result.pushed.length : job.placement ? Object.keys(job.placement).length : undefined;
  const pushTotal = shares === undefined ? undefined : shares * shareSize;
  const done = job.state === 'done';
  return {
    size: job.params.size,
    received: job.received,
    numSegments: g.numSegments,
    segmentsEncoded: done ? g.numSegments : job.segmentsEncoded,
    encodedBytes: done ? job.params.size : Math.min(job.params.size, job.segmentsEncoded * g.segmentSize),
    pushedBytes: sum(job.pushedBytes),
    /** Share bytes this attempt pushes (shares placed × share size); unknown until placement. */
    pushTotal,
    shareSize,
  };
}

/** One line of the job list and of the live page. */
export function jobSummary(job: Job, running: boolean) {
  return {
    storageIndex: job.si,
    kind: job.kind,
    state: job.state,
    running,
    /** Id of the client token that sent the job (a hash prefix, never the token); null for repairs. */
    owner: job.owner ?? null,
    params: job.params,
    progress: progressOf(job),
    attempts: job.attempts,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    ...(job.finishedAt !== undefined ? { finishedAt: job.finishedAt } : {}),
    ...(job.nextAttemptAt !== undefined ? { nextAttemptAt: job.nextAttemptAt } : {}),
    ...(job.lastError ? { lastError: job.lastError } : {}),
  };
}

export interface JobError {
  at: number;
  attempt: number;
  state: string;
  message: string;
}

/** Everything about one job: stage, progress by server, share map, attempts, errors, timings. */
export function jobDetail(job: Job, running: boolean, errors: JobError[], servers: ServerHealth[]) {
  const urlOf = new Map(servers.filter((s) => s.id).map((s) => [s.id!, s.url]));
  const shareMap: Record<string, string[]> = job.result?.shareMap ?? Object.fromEntries(Object.entries(job.placement ?? {}).map(([s, id]) => [s, [id]]));
  const t = job.result?.timings;
  return {
    ...jobSummary(job, running),
    stage: running && job.state === 'receiving' ? 'receiving+encoding' : job.state,
    crypttextRoot: job.crypttextRoot,
    pushedByServer: Object.entries(job.pushedBytes).map(([id, bytes]) => ({ serverId: id, url: urlOf.get(id), bytes })),
    placement: job.placement ?? {},
    shareMap,
    ...(job.result
      ? { result: { uebHash: job.result.uebHash, pushed: job.result.pushed, preexisting: job.result.preexisting, happiness: job.result.happiness } }
      : {}),
    errors: errors.length || !job.lastError ? errors : [{ at: job.updatedAt, attempt: job.attempts, state: job.state, message: job.lastError }],
    timings: {
      createdAt: job.createdAt,
      receivedAt: job.receivedAt,
      startedAt: job.startedAt,
      finishedAt: job.finishedAt,
      updatedAt: job.updatedAt,
      receiveMs: t?.receivedMs ?? (job.receivedAt !== undefined ? job.receivedAt - job.createdAt : undefined),
      encodeMs: t?.encodeMs,
      totalMs: t?.totalMs,
    },
  };
}
