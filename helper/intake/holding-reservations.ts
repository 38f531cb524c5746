import { isTerminal, type Job } from '../jobs/job.js';
import type { JobStore } from '../jobs/job-store.js';

/** What one client token's unfinished uploads hold: uploads still receiving, and bytes reserved. */
export interface OwnerUsage {
  receiving: number;
  bytes: number;
}

interface Held {
  size: number;
  owner: string | undefined;
  receiving: boolean;
}

/**
 * Bytes reserved in the holding dirs by unfinished uploads, as running totals
 * kept by the job store's change events: the quota check of every new upload
 * must not read every job there is. An upload counts its full size from its
 * first record until it is done or cancelled, against the helper and against
 * the token that owns it (helper/jobs/job.ts `owner`; sharers hold nothing).
 * Repairs hold no spool and count nothing. (Only finished uploads are ever
 * deleted, so a delete, which emits no event, never changes the totals.)
 */
export class HoldingReservations {
  private readonly held = new Map<string, Held>();
  private readonly owners = new Map<string, OwnerUsage>();
  #total = 0;
  private readonly onChange = (job: Job) => this.set(job.si, holds(job) ? heldBy(job) : undefined);

  constructor(private readonly jobs: JobStore) {}

  /** Subscribes first, then counts what the store holds, so no change falls between the two. */
  async start(): Promise<void> {
    this.jobs.on('change', this.onChange);
    for (const job of await this.jobs.list(holds)) if (!this.held.has(job.si)) this.set(job.si, heldBy(job));
  }

  close(): void {
    this.jobs.off('change', this.onChange);
  }

  get total(): number {
    return this.#total;
  }

  /** Receiving uploads and reserved bytes of the token with this client id. */
  usage(owner: string): OwnerUsage {
    return { ...(this.owners.get(owner) ?? { receiving: 0, bytes: 0 }) };
  }

  private set(si: string, now: Held | undefined): void {
    const before = this.held.get(si);
    if (before) this.count(before, -1);
    if (now) {
      this.count(now, 1);
      this.held.set(si, now);
    } else this.held.delete(si);
  }

  private count(h: Held, sign: 1 | -1): void {
    this.#total += sign * h.size;
    if (h.owner === undefined) return;
    const u = this.owners.get(h.owner) ?? { receiving: 0, bytes: 0 };
    u.bytes += sign * h.size;
    u.receiving += sign * (h.receiving ? 1 : 0);
    if (u.bytes === 0 && u.receiving === 0) this.owners.delete(h.owner);
    else this.owners.set(h.owner, u);
  }
}

function holds(job: Job): boolean {
  return job.kind === 'upload' && !isTerminal(job.state);
}

function heldBy(job: Job): Held {
  return { size: job.params.size, owner: job.owner, receiving: job.state === 'receiving' };
}
