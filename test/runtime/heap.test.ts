import { describe, expect, it } from 'vitest';
import { SERVICE_HEAP_GROWING_PERCENT, serviceHeapFlag } from '../../runtime/heap.js';

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
