/**
 * The periodic clean-up, apart from the store's internals: it decides what
 * is expired; the store's callbacks re-check under their locks and delete.
 *   - a partial share whose last accepted write is older than the idle limit;
 *   - the shares of a storage index whose lease has expired.
 */
import type { LeaseBook } from './leases.js';
import type { PartialMeta } from './sidecar.js';
import type { Lease, SweepResult } from './types.js';

export interface SweepContext {
  now: number;
  partialIdleMs: number;
  partials(): { si: string; shnum: number; meta: PartialMeta }[];
  /** A share with a write in progress is not idle. */
  isBusy(si: string, shnum: number): boolean;
  /** Removes the partial if `stillExpired` holds under the lock; returns the bytes it had received, or undefined if kept. */
  removePartial(si: string, shnum: number, stillExpired: (meta: PartialMeta) => boolean): Promise<number | undefined>;
  leases: Pick<LeaseBook, 'storageIndexes' | 'get'>;
  /** Deletes the storage index's shares if `isExpired` holds under the lock; undefined if kept. */
  expireStorageIndex(si: string, isExpired: (lease: Lease) => boolean): Promise<{ deleted: number; freed: number } | undefined>;
}

export async function sweepStore(ctx: SweepContext): Promise<SweepResult> {
  const result: SweepResult = { at: ctx.now, expiredPartials: 0, expiredLeases: 0, deletedShares: 0, freedBytes: 0 };
  const idle = (meta: PartialMeta) => ctx.now - meta.lastWriteAt > ctx.partialIdleMs;
  for (const { si, shnum, meta } of ctx.partials()) {
    if (!idle(meta) || ctx.isBusy(si, shnum)) continue;
    const freed = await ctx.removePartial(si, shnum, idle);
    if (freed === undefined) continue;
    result.expiredPartials++;
    result.freedBytes += freed;
  }
  const expired = (lease: Lease) => lease.expiresAt <= ctx.now;
  const candidates: string[] = [];
  for await (const si of ctx.leases.storageIndexes()) {
    const lease = await ctx.leases.get(si);
    if (lease && expired(lease)) candidates.push(si);
  }
  for (const si of candidates) {
    const done = await ctx.expireStorageIndex(si, expired);
    if (!done) continue;
    result.expiredLeases++;
    result.deletedShares += done.deleted;
    result.freedBytes += done.freed;
  }
  return result;
}
