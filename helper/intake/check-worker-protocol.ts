/** Messages between CheckValidator (main thread) and check-worker.ts. */
import type { CheckLimits, ValidCheck } from './check-request.js';

export interface CheckWorkerRequest {
  id: number;
  /** The raw request body, transferred. */
  body: ArrayBuffer;
  limits: CheckLimits;
}

/** A FerryError's code, message and details: revived as a FerryError on the main thread. */
export interface SerializedCheckError {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

export type CheckWorkerResponse = { id: number; ok: true; check: ValidCheck } | { id: number; ok: false; error: SerializedCheckError };
