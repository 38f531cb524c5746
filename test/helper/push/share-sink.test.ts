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
    const sink = new ShareSink(grid.servers[0], si, 0, [[0, bytes.length]], (b) => (pushed += b), { flushBytes: 4096 });
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
    const sink = new ShareSink(grid.servers[0], si, 1, [[0, 1000], [2000, 3000]], () => undefined, { flushBytes: 64 * 1024 });
    expect(sink.remaining).toBe(2000);
    await sink.write(0, bytes);
    await sink.finish();
    expect(grid.stores[0].writes.map((w) => [w.offset, w.length])).toEqual([[0, 1000], [2000, 1000]]);
    expect(Buffer.from(await grid.stores[0].read(si, 1, 0, bytes.length)).equals(bytes)).toBe(true);
  });

  it('streams blocks in the streamed range in windows of windowBytes (one server write each), the rest buffered', async () => {
    const grid = memoryGrid(1);
    const bytes = randomBytes(12_000);
    await grid.stores[0].allocate(si, bytes.length, [2]);
    await grid.stores[0].write(si, 2, 4000, bytes.subarray(4000, 5000));
    grid.stores[0].writes.length = 0;
    let pushed = 0;
    const sink = new ShareSink(grid.servers[0], si, 2, [[0, 4000], [5000, 12_000]], (b) => (pushed += b), { flushBytes: 64 * 1024, streamed: { start: 0, end: 10_000 }, windowBytes: 3000 });
    for (let o = 0; o < 10_000; o += 700) await sink.write(o, bytes.subarray(o, Math.min(o + 700, 10_000)), true);
    await sink.write(10_000, bytes.subarray(10_000));
    await sink.finish();
    expect(grid.stores[0].writes.map((w) => [w.offset, w.length]).sort((a, b) => a[0] - b[0])).toEqual([[0, 3000], [3000, 1000], [5000, 3000], [8000, 2000], [10_000, 2000]]);
    expect(pushed).toBe(11_000);
    expect(sink.complete).toBe(true);
    expect(Buffer.from(await grid.stores[0].read(si, 2, 0, bytes.length)).equals(bytes)).toBe(true);
  });

  it('an abandoned window counts for nothing on the server', async () => {
    const grid = memoryGrid(1);
    const bytes = randomBytes(8000);
    await grid.stores[0].allocate(si, bytes.length, [3]);
    const sink = new ShareSink(grid.servers[0], si, 3, [[0, 8000]], () => undefined, { streamed: { start: 0, end: 8000 }, windowBytes: 8000 });
    await sink.write(0, bytes.subarray(0, 5000), true);
    sink.abandon();
    await expect(sink.finish()).resolves.toBeUndefined();
    expect(grid.stores[0].writes).toEqual([]);
    expect((await grid.stores[0].allocate(si, bytes.length, [3])).missing).toEqual({ '3': [[0, 8000]] });
  });
});
