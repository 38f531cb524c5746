import { isTerminal, type Job } from '../jobs/job.js';
import type { JobStore } from '../jobs/job-store.js';

/**
 * Bytes reserved in the holding dirs by unfinished uploads, as a running
 * total kept by the job store's change events: the quota check of every new
 * upload must not read every job there is. An upload counts its full size
 * from its first record until it is done or cancelled. Repairs hold no
 * spool and count nothing. (Only finished uploads are ever deleted, so a
 * delete, which emits no event, never changes the total.)
 */
export class HoldingReservations {
  private readonly sizes = new Map<string, number>();
  #total = 0;
  private readonly onChange = (job: Job) => this.set(job.si, holds(job) ? job.params.size : 0);

  constructor(private readonly jobs: JobStore) {}

  /** Subscribes first, then counts what the store holds, so no change falls between the two. */
  async start(): Promise<void> {
    this.jobs.on('change', this.onChange);
    for (const job of await this.jobs.list(holds)) if (!this.sizes.has(job.si)) this.set(job.si, job.params.size);
  }

  close(): void {
    this.jobs.off('change', this.onChange);
  }

  get total(): number {
    return this.#total;
  }

  private set(si: string, size: number): void {
    this.#total += size - (this.sizes.get(si) ?? 0);
    if (size) this.sizes.set(si, size);
    else this.sizes.delete(si);
  }
}

function holds(job: Job): boolean {
  return job.kind === 'upload' && !isTerminal(job.state);
}
