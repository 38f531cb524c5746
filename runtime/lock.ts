/**
 * In-process mutual exclusion keyed by string: callers with the same key run
 * one after another (FIFO), different keys run concurrently. Nothing is held
 * for keys nobody is waiting on.
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `fn` once every earlier holder of `key` has finished. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.#tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Whether anyone holds or waits for `key`. */
  isLocked(key: string): boolean {
    return this.#tails.has(key);
  }

  /** Number of keys currently held. */
  get size(): number {
    return this.#tails.size;
  }
}
