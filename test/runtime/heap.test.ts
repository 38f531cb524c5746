import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { HELPER_PROCESS_ENV, SERVICE_HEAP_GROWING_PERCENT, serviceHeapFlag } from '../../runtime/heap.js';

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

describe("the helper's process environment", () => {
  it('is what the systemd unit starts the helper with (the bench measures the helper that way)', async () => {
    const unit = await readFile(new URL('../../deploy/systemd/ferry-helper.service', import.meta.url), 'utf8');
    const environment = Object.fromEntries(
      unit
        .split('\n')
        .filter((line) => line.startsWith('Environment='))
        .map((line) => {
          const assignment = line.slice('Environment='.length);
          const eq = assignment.indexOf('=');
          return [assignment.slice(0, eq), assignment.slice(eq + 1)];
        }),
    );
    for (const [name, value] of Object.entries(HELPER_PROCESS_ENV)) expect(environment[name], name).toBe(value);
  });
});
