import { describe, expect, it } from 'vitest';
import { LINE_WIDTH, renderBarLine } from '../../cli/progress-bar.js';

describe('the progress line', () => {
  it('fits an 80-column terminal even with the longest label and numbers', () => {
    const widest = { label: 'encoding (failed)', fraction: 0.38, done: '1023.9 MiB', all: '1023.9 GiB', rate: '1023.9 MiB/s', eta: '999:59:59' };
    const line = renderBarLine(widest);
    expect(line.length).toBeLessThanOrEqual(LINE_WIDTH);
    expect(line).toMatch(/^encoding \(failed\) \[#+-+\] {2}38% 1023\.9 MiB\/1023\.9 GiB 1023\.9 MiB\/s ETA 999:59:59$/);
  });

  it('keeps the bar the same width while the numbers change', () => {
    const at = (fraction: number, done: string, rate: string) => renderBarLine({ label: 'uploading', fraction, done, all: '6 MiB', rate, eta: '00:01' });
    const a = at(0.01, '1 KiB', '--');
    const b = at(0.5, '3 MiB', '2.5 MiB/s');
    expect(a.indexOf(']')).toBe(b.indexOf(']'));
    expect(a.length).toBeLessThanOrEqual(LINE_WIDTH);
    expect(b).toMatch(/^uploading {3}\[#+-+\] {2}50% /);
  });
});
