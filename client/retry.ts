import { setTimeout as sleepTimer } from 'node:timers/promises';
import { FerryError } from '../core/errors.js';

/** How a transfer backs off: `attempts` consecutive failures without progress, then give up. */
export interface RetryPolicy {
  /** Consecutive failures tolerated (progress resets the count). */
  attempts: number;
  /** First delay; doubles per failure, with jitter. */
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 10, baseMs: 500, maxMs: 30_000 };

/**
 * The connect policy `put` and `get` share: until the helper has answered
 * once, this many retries at most (a helper that is not there fails in a few
 * seconds, not minutes); after that, the full policy for the transfer.
 */
export const CONNECT_RETRIES = 2;

/** HTTP statuses worth retrying: the request may succeed later unchanged (the list, plus 502-504). */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 423 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/** Delay before retry number `failure` (1-based): exponential with ±25 % jitter, or the server's Retry-After. */
export function backoffDelay(policy: RetryPolicy, failure: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return Math.min(policy.maxMs, retryAfterMs);
  const base = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, failure - 1));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

export function abortedError(signal?: AbortSignal): FerryError {
  const reason = signal?.reason;
  if (reason instanceof FerryError) return reason;
  return new FerryError('ABORTED', 'aborted', { cause: reason });
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortedError(signal);
}

/** Sleeps, or rejects with ABORTED when `signal` fires (the timer is cleared either way). */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await sleepTimer(ms, undefined, { signal });
  } catch (err) {
    if (signal?.aborted) throw abortedError(signal);
    throw err;
  }
}

/** Parses Retry-After (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}
