import { EventEmitter } from 'node:events';

/**
 * Counters in the spirit of Tahoe's helper stats (upload requests, already
 * present, need upload, resumes, bytes in and out). Plain numbers so the
 * admin API and the Prometheus exporter can both read them.
 */
export class HelperStats extends EventEmitter<{ jobDone: [seconds: number] }> {
  uploadRequests = 0;
  alreadyPresent = 0;
  needUpload = 0;
  inProgress = 0;
  resumes = 0;
  bytesReceived = 0;
  bytesEncoded = 0;
  bytesPushed = 0;
  jobsDone = 0;
  readonly jobDurations: number[] = [];
  /** Shares and share bytes each storage server (by id) took from finished jobs. */
  readonly perServer = new Map<string, { shares: number; bytes: number }>();

  check(status: 'have-it' | 'send' | 'in-progress', resumed: boolean): void {
    this.uploadRequests++;
    if (status === 'have-it') this.alreadyPresent++;
    else if (status === 'send') this.needUpload++;
    else this.inProgress++;
    if (resumed) this.resumes++;
  }

  received(bytes: number): void {
    this.bytesReceived += bytes;
  }

  jobDone(seconds: number, size: number, pushedBytes: number): void {
    this.jobsDone++;
    this.bytesEncoded += size;
    this.bytesPushed += pushedBytes;
    this.jobDurations.push(seconds);
    if (this.jobDurations.length > 1000) this.jobDurations.shift();
    this.emit('jobDone', seconds);
  }

  /** A finished job pushed share `s` to server `placement[s]` for every s in `pushed`; `pushedBytes` is by server id. */
  serverPushes(placement: Record<string, string> | undefined, pushed: readonly number[], pushedBytes: Record<string, number>): void {
    const at = (id: string) => {
      let e = this.perServer.get(id);
      if (!e) this.perServer.set(id, (e = { shares: 0, bytes: 0 }));
      return e;
    };
    for (const s of pushed) {
      const id = placement?.[String(s)];
      if (id) at(id).shares++;
    }
    for (const [id, bytes] of Object.entries(pushedBytes)) at(id).bytes += bytes;
  }
}
