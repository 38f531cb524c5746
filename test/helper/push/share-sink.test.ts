/** ShareSink against the in-memory grid: only missing bytes are sent, contiguous appends are coalesced. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ShareSink } from '../../../helper/push/share-sink.js';
import { memoryGrid } from '../grid/memory-grid.js';

const si = 'bbbbbbbbbbbbbbbbbbbbbbbbbb';

describe('ShareSink', () => {
  it('gathers contiguous appends into writes of about flushBytes', async () => {
    const grid = memoryGrid(1);
    const bytes = randomBytes(10_000);
    await grid.stores[0].allocate(si, bytes.length, [0]);
    let pushed = 0;
    const sink = new ShareSink(grid.servers[0], si, 0, [[0, bytes.length]], (b) => (pushed += b), 4096);
    for (let o = 0; o < bytes.length; o += 500) await sink.write(o, bytes.subarray(o, o + 500));
    await sink.finish();
    expect(grid.stores[0].writes.map((w) => w.length)).toEqual([4500, 4500, 1000]);
    expect(pushed).toBe(bytes.length);
    expect(sink.complete).toBe(true);
    expect(Buffer.from(await grid.stores[0].read(si, 0, 0, bytes.length)).equals(bytes)).toBe(true);
  });

  it('sends only the missing intervals, whatever it is given', async () => {
    const grid = memoryGrid(1);
    const bytes = randomBytes(3000);
    await grid.stores[0].allocate(si, bytes.length, [1]);
    await grid.stores[0].write(si, 1, 1000, bytes.subarray(1000, 2000));
    grid.stores[0].writes.length = 0;
    const sink = new ShareSink(grid.servers[0], si, 1, [[0, 1000], [2000, 3000]], () => undefined, 64 * 1024);
    expect(sink.remaining).toBe(2000);
    await sink.write(0, bytes);
    await sink.finish();
    expect(grid.stores[0].writes.map((w) => [w.offset, w.length])).toEqual([[0, 1000], [2000, 1000]]);
    expect(Buffer.from(await grid.stores[0].read(si, 1, 0, bytes.length)).equals(bytes)).toBe(true);
  });
});
