import { subscribe, type EventSource } from '../diagnostics.js';

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

/**
 * Counters in the spirit of Tahoe's helper stats (upload requests, already
 * present, need upload, resumes, bytes in and out), tallied from one
 * helper's events since the admin side started, for the overview and the
 * server table.
 */
export class HelperCounters {
  uploadRequests = 0;
  alreadyPresent = 0;
  needUpload = 0;
  inProgress = 0;
  resumes = 0;
  bytesReceived = 0;
  bytesEncoded = 0;
  bytesPushed = 0;
  jobsDone = 0;
  /** Shares and share bytes each storage server (by id) took from finished jobs. */
  readonly perServer = new Map<string, { shares: number; bytes: number }>();
  private readonly unsubscribe: (() => void)[];

  constructor(source: EventSource) {
    this.unsubscribe = [
      subscribe('ferry:intake:check', source, ({ status, resumed }) => {
        this.uploadRequests++;
        if (status === 'have-it') this.alreadyPresent++;
        else if (status === 'send') this.needUpload++;
        else this.inProgress++;
        if (resumed) this.resumes++;
      }),
      subscribe('ferry:intake:received', source, ({ bytes }) => {
        this.bytesReceived += bytes;
      }),
      subscribe('ferry:jobs:done', source, (done) => {
        this.jobsDone++;
        this.bytesEncoded += done.size;
        this.bytesPushed += sum(done.pushedBytes);
        this.countServers(done.placement, done.pushed, done.pushedBytes);
      }),
    ];
  }

  /** A finished job pushed share `s` to server `placement[s]` for every s in `pushed`; `pushedBytes` is by server id. */
  private countServers(placement: Record<string, string> | undefined, pushed: readonly number[], pushedBytes: Record<string, number>): void {
    const at = (id: string) => {
      let entry = this.perServer.get(id);
      if (!entry) this.perServer.set(id, (entry = { shares: 0, bytes: 0 }));
      return entry;
    };
    for (const s of pushed) {
      const id = placement?.[String(s)];
      if (id) at(id).shares++;
    }
    for (const [id, bytes] of Object.entries(pushedBytes)) at(id).bytes += bytes;
  }

  /** The totals the admin overview shows. */
  totals() {
    const { uploadRequests, alreadyPresent, needUpload, inProgress, resumes, bytesReceived, bytesEncoded, bytesPushed, jobsDone } = this;
    return { uploadRequests, alreadyPresent, needUpload, inProgress, resumes, bytesReceived, bytesEncoded, bytesPushed, jobsDone };
  }

  close(): void {
    for (const off of this.unsubscribe) off();
  }
}
