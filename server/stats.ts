/**
 * Counters in the spirit of Tahoe's helper stats (upload requests, already
 * present, need upload, resumes, bytes in and out). Plain numbers so the
 * admin API and the Prometheus exporter can both read them.
 */
export class HelperStats {
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
  }
}
