import { publish, type EventSource } from './diagnostics.js';

/**
 * What repair (helper/repair/service.ts) calls as a repair job finishes: it
 * reports one finished job in two synchronous calls, jobDone() then
 * serverPushes(), which this turns into one `ferry:jobs:done` event. It goes
 * once repair publishes that event itself; nothing else counts here.
 */
export class RepairDoneReporter {
  private pending: { seconds: number; size: number } | undefined;

  constructor(private readonly source: EventSource) {}

  jobDone(seconds: number, size: number, _pushedBytes: number): void {
    this.pending = { seconds, size };
  }

  serverPushes(placement: Record<string, string> | undefined, pushed: readonly number[], pushedBytes: Record<string, number>): void {
    const done = this.pending ?? { seconds: 0, size: 0 };
    this.pending = undefined;
    publish('ferry:jobs:done', this.source, () => ({ si: '', kind: 'repair', ...done, pushedBytes, placement, pushed }));
  }
}

/** The name repair's dependencies use. */
export type HelperStats = RepairDoneReporter;
