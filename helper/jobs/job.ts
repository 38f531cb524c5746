/** A helper job: one storage index from first check to result. Persisted as JSON in LevelDB. */
import type { z } from 'zod';
import type { CorruptShare as CorruptShareWire, JobState } from '../protocol.js';

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

/** A copy of a share that failed verification (`server`: its id). */
export type CorruptShare = z.infer<typeof CorruptShareWire>;

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

interface JobFields {
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
  /** A failed job that cannot heal by waiting (helper/jobs/failure.ts): no retry is scheduled. */
  permanent?: boolean;
  /** Why a permanent failure is permanent (FAILURE_CODES). */
  failureCode?: string;
  result?: JobResult;
  /** Upload jobs: id of the client token that created it (a hash prefix, never the token), see helper/http/client-auth.ts. */
  owner?: string;
  /** Upload jobs: other client tokens that checked in the same hash list (they may resume and follow it, not terminate it). */
  sharers?: string[];
}

/** Ciphertext received over tus, then encoded and pushed. */
export interface UploadJob extends JobFields {
  kind: 'upload';
  repair?: undefined;
}

/** Shares regenerated from the grid (helper/repair/), from a verify-cap. */
export interface RepairJob extends JobFields {
  kind: 'repair';
  repair: RepairSpec;
}

export type Job = UploadJob | RepairJob;

/** `done` and `cancelled` jobs never run again. */
export function isTerminal(state: JobState): boolean {
  return state === 'done' || state === 'cancelled';
}

type NewJobFields = Pick<JobFields, 'si' | 'state' | 'params' | 'crypttextRoot'> & Partial<Pick<JobFields, 'owner'>> & ({ kind?: 'upload' } | { kind: 'repair'; repair: RepairSpec });

/** A job as first stored: nothing received, encoded or pushed yet, no attempt made. */
export function newJob(fields: NewJobFields, now: number): Job {
  const counts = { received: 0, segmentsEncoded: 0, pushedBytes: {}, attempts: 0, createdAt: now, updatedAt: now };
  return fields.kind === 'repair' ? { ...fields, ...counts } : { ...fields, kind: 'upload', ...counts };
}
