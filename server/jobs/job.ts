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
}

export interface Job {
  si: string;
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
}

export function isTerminal(state: JobState): boolean {
  return state === 'done' || state === 'cancelled';
}
