/**
 * Process signals for long-running commands and interruptible transfers.
 * Both take the signal source as a parameter (default `process`) so their
 * behaviour can be tested without signalling the test runner.
 */
import type { EventEmitter } from 'node:events';

const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

export interface UntilSignalOptions {
  /** Called on a second signal, for a shutdown that hangs (default: exit 1 at once). */
  onForce?: () => void;
  /** Where signals are heard (default `process`). */
  source?: EventEmitter;
}

/**
 * Resolves with the name of the first SIGINT or SIGTERM. The listeners stay
 * installed after that: while the caller shuts down gracefully, a second
 * signal calls `onForce` instead of being lost (or killing the process with
 * Node's default handler halfway through a durable write).
 */
export function untilSignal(options: UntilSignalOptions = {}): Promise<NodeJS.Signals> {
  const source = options.source ?? process;
  const onForce = options.onForce ?? (() => process.exit(1));
  return new Promise((resolve) => {
    let seen = false;
    const on = (signal: NodeJS.Signals) => {
      if (seen) {
        onForce();
        return;
      }
      seen = true;
      resolve(signal);
    };
    for (const name of SHUTDOWN_SIGNALS) source.on(name, on);
  });
}

/**
 * Runs `fn` with an AbortSignal fired by the first SIGINT/SIGTERM, so a
 * transfer stops cleanly and stays resumable; a second signal calls `onForce`
 * (default: exit 130). The listeners are removed when `fn` settles.
 */
export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>, options: UntilSignalOptions = {}): Promise<T> {
  const source = options.source ?? process;
  const onForce = options.onForce ?? (() => process.exit(130));
  const controller = new AbortController();
  const on = () => {
    if (controller.signal.aborted) onForce();
    else controller.abort();
  };
  for (const name of SHUTDOWN_SIGNALS) source.on(name, on);
  try {
    return await fn(controller.signal);
  } finally {
    for (const name of SHUTDOWN_SIGNALS) source.off(name, on);
  }
}

/**
 * Calls `handler` on every `signal` (e.g. SIGHUP for a config reload), one
 * run at a time: a signal that arrives during a run starts another after it.
 * Returns the function that removes the listener.
 */
export function onSignal(signal: NodeJS.Signals, handler: () => Promise<void>, source: EventEmitter = process): () => void {
  let chain = Promise.resolve();
  const on = () => {
    chain = chain.then(handler).catch(() => undefined);
  };
  source.on(signal, on);
  return () => {
    source.off(signal, on);
  };
}
