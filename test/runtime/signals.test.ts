import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { untilSignal, withInterrupt } from '../../runtime/signals.js';

describe('runtime/signals', () => {
  it('untilSignal resolves on the first SIGINT or SIGTERM and forces on the second', async () => {
    const source = new EventEmitter();
    let forced = 0;
    const first = untilSignal({ source, onForce: () => forced++ });
    source.emit('SIGTERM', 'SIGTERM');
    expect(await first).toBe('SIGTERM');
    expect(forced).toBe(0);
    // Still listening while the caller shuts down: a second signal is not lost.
    source.emit('SIGINT', 'SIGINT');
    expect(forced).toBe(1);
  });

  it('withInterrupt aborts on the first signal, forces on the second, and removes its listeners', async () => {
    const source = new EventEmitter();
    let forced = 0;
    const result = await withInterrupt(
      async (signal) => {
        expect(signal.aborted).toBe(false);
        source.emit('SIGINT', 'SIGINT');
        expect(signal.aborted).toBe(true);
        source.emit('SIGTERM', 'SIGTERM');
        return 'stopped';
      },
      { source, onForce: () => forced++ },
    );
    expect(result).toBe('stopped');
    expect(forced).toBe(1);
    expect(source.listenerCount('SIGINT') + source.listenerCount('SIGTERM')).toBe(0);
  });

  it('withInterrupt removes its listeners when the work fails', async () => {
    const source = new EventEmitter();
    await expect(withInterrupt(async () => Promise.reject(new Error('broken')), { source })).rejects.toThrow('broken');
    expect(source.listenerCount('SIGINT') + source.listenerCount('SIGTERM')).toBe(0);
  });
});
