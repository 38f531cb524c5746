import { FerryError } from '../../core/errors.js';

/**
 * A full verification (check-file --verify) reads every block of every
 * share: at most `limit` run at once, the others wait their turn in order.
 * A waiter whose client went away leaves the line.
 */
export class VerifySlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Most verifications seen running at once (for tests and the curious). */
  peak = 0;

  constructor(private readonly limit: number) {}

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.running >= this.limit) await this.wait(signal);
    else this.running++;
    this.peak = Math.max(this.peak, this.running);
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the slot passes straight to the next in line
      else this.running--;
    }
  }

  private wait(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const turn = () => {
        signal?.removeEventListener('abort', leave);
        resolve();
      };
      const leave = () => {
        const i = this.waiting.indexOf(turn);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new FerryError('ABORTED', 'the client went away while its verification waited'));
      };
      if (signal?.aborted) {
        leave();
        return;
      }
      signal?.addEventListener('abort', leave, { once: true });
      this.waiting.push(turn);
    });
  }
}
