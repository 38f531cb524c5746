/**
 * Whether a failed job can heal by waiting. A client waiting for a job needs
 * to know: a storage server that comes back heals a short grid, but a job
 * asking more servers to be happy than the helper knows never succeeds, and
 * one with no attempts left is not retried. Codes are part of the wire
 * contract (docs/protocol.md, "Job states").
 */
import type { Job } from './job.js';

export const FAILURE_CODES = {
  /** `happy` exceeds the storage servers the helper is configured with. */
  notEnoughServers: 'NOT_ENOUGH_SERVERS',
  /** All of `limits.maxAttempts` used. */
  noAttemptsLeft: 'NO_ATTEMPTS_LEFT',
} as const;

export type FailureCode = (typeof FAILURE_CODES)[keyof typeof FAILURE_CODES];

export interface PermanentFailure {
  code: FailureCode;
  /** Plain words for lastError: what is wrong and what would fix it. */
  message: string;
}

/** The reason `job` can never succeed on a grid of `servers` storage servers, or undefined when waiting may heal it. */
export function permanentFailure(job: Pick<Job, 'params'>, servers: number): PermanentFailure | undefined {
  const { happy } = job.params;
  if (happy <= servers) return undefined;
  return {
    code: FAILURE_CODES.notEnoughServers,
    message:
      `happy=${happy} needs shares on ${happy} different storage servers but the helper knows ${servers}; ` +
      'this upload cannot succeed until servers are added (upload again with a lower --happy, or ask the operator)',
  };
}
