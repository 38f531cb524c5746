import { FerryError } from '../core/errors.js';
import { withInterrupt } from '../runtime/signals.js';
import type { ProgressView } from './progress-bar.js';

export interface InterruptibleOptions {
  /** The one line shown when Ctrl-C stopped the work: what happened and what to do next. */
  interrupted: string;
  /** Finished however the work ends, so the terminal is left clean. */
  bar?: ProgressView;
  /** Which ABORTED errors are the interruption (default: all). */
  isInterruption?: (err: FerryError) => boolean;
}

/** Runs a client command's work so that Ctrl-C stops it cleanly (transfers stay resumable) with one clear line. */
export async function interruptible<T>(fn: (signal: AbortSignal) => Promise<T>, options: InterruptibleOptions): Promise<T> {
  try {
    return await withInterrupt(fn);
  } catch (err) {
    if (err instanceof FerryError && err.code === 'ABORTED' && (options.isInterruption?.(err) ?? true)) throw new FerryError('ABORTED', options.interrupted);
    throw err;
  } finally {
    options.bar?.finish();
  }
}
