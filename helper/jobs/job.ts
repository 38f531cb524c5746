/** A helper job: one storage index from first check to result. Persisted as JSON in LevelDB. */
export const JOB_STATES = ['receiving', 'queued', 'encoding', 'pushing', 'done', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface JobParams {
  size: number;
  k: number;
  n: number;
  happy: number;
  /** The uploader's maximum segment size (what the convergent key commits to). */
  maxSegmentSize: number;
}

export interface JobResult {
  uebHash: string; // hex
  ueb: string; // base64
  /** shnum -> server ids holding it after the push. */
  shareMap: Record<string, string[]>;
  pushed: number[];
  preexisting: number[];
  happiness: number;
  timings: { receivedMs?: number; encodeMs: number; totalMs: number };
  /** Repair jobs: the share numbers regenerated and pushed (helper/repair/). */
  repaired?: number[];
  /** Repair jobs: bad copies found (and reported to their servers). */
  corrupt?: CorruptShare[];
  /** Repair jobs: servers whose lease on the storage index was renewed, and those that failed. */
  leases?: { renewed: string[]; failed: { server: string; error: string }[] };
  /** Repair jobs: every share number present and happiness >= happy after the repair. */
  healthy?: boolean;
}

/** A copy of a share that failed verification. */
export interface CorruptShare {
  shnum: number;
  /** Server id. */
  server: string;
  reason: string;
}

/** What a repair job works from (never a read key: only the verify-cap). */
export interface RepairSpec {
  /** ferry-chk-verify:… of the file. */
  verifyCap: string;
  /** Verify every block of every share, not only headers, UEBs and hash chains. */
  verify: boolean;
  /** Copies known to be bad (found by this job or by a check): never used, replaced. */
  corrupt?: CorruptShare[];
  /** Error code of the last failed attempt (lastError has its message). */
  lastErrorCode?: string;
}

export interface Job {
  si: string;
  /** What the job does; absent = 'upload' (records written before repairs existed). */
  kind?: 'upload' | 'repair';
  state: JobState;
  params: JobParams;
  /** hex; root of the client's crypttext segment hashes. */
  crypttextRoot: string;
  /** Ciphertext bytes durably spooled and hash-verified (the tus Upload-Offset). */
  received: number;
  segmentsEncoded: number;
  /** Bytes of share data acknowledged by each server during the current attempt. */
  pushedBytes: Record<string, number>;
  /** shnum -> server id, fixed before any byte is pushed so a restart pushes the same shares to the same places. */
  placement?: Record<string, string>;
  attempts: number;
  createdAt: number;
  updatedAt: number;
  receivedAt?: number;
  startedAt?: number;
  finishedAt?: number;
  nextAttemptAt?: number;
  lastError?: string;
  result?: JobResult;
  /** Repair jobs only. */
  repair?: RepairSpec;
}

export function isTerminal(state: JobState): boolean {
  return state === 'done' || state === 'cancelled';
}

/** A job as first stored: nothing received, encoded or pushed yet, no attempt made. */
export function newJob(fields: Pick<Job, 'si' | 'state' | 'params' | 'crypttextRoot'> & Partial<Pick<Job, 'kind' | 'repair'>>, now: number): Job {
  return { ...fields, received: 0, segmentsEncoded: 0, pushedBytes: {}, attempts: 0, createdAt: now, updatedAt: now };
}
