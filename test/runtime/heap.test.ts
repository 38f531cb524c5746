import { describe, expect, it } from 'vitest';
import { SERVICE_HEAP_GROWING_PERCENT, SERVICE_PROCESS_ENV, serviceHeapFlag, withServiceProcessEnv } from '../../runtime/heap.js';

describe('service heap tuning', () => {
  it('sets the growing factor for a service started without one', () => {
    expect(serviceHeapFlag([])).toBe(`--heap-growing-percent=${SERVICE_HEAP_GROWING_PERCENT}`);
    expect(serviceHeapFlag(['--enable-source-maps', '--max-old-space-size=512'])).toBe(`--heap-growing-percent=${SERVICE_HEAP_GROWING_PERCENT}`);
  });

  it("leaves an operator's own --heap-growing-percent alone, in either spelling", () => {
    expect(serviceHeapFlag(['--heap-growing-percent=0'])).toBeUndefined();
    expect(serviceHeapFlag(['--heap_growing_percent=50'])).toBeUndefined();
    expect(serviceHeapFlag(['--heap-growing-percent', '50'])).toBeUndefined();
  });
});

describe("the services' process environment", () => {
  it("keeps the caller's own NODE_OPTIONS, after ours so that they win, and the rest of the environment", () => {
    const env = withServiceProcessEnv({ PATH: '/bin', NODE_OPTIONS: '--max-semi-space-size=8 --enable-source-maps' });
    expect(env.NODE_OPTIONS).toBe(`${SERVICE_PROCESS_ENV.NODE_OPTIONS} --max-semi-space-size=8 --enable-source-maps`);
    expect(env.MALLOC_ARENA_MAX).toBe(SERVICE_PROCESS_ENV.MALLOC_ARENA_MAX);
    expect(env.PATH).toBe('/bin');
    expect(withServiceProcessEnv({ NODE_OPTIONS: ' ' }).NODE_OPTIONS).toBe(SERVICE_PROCESS_ENV.NODE_OPTIONS);
  });
});
