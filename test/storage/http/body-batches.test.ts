import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BodyEndedEarly, batchedBody } from '../../../storage/http/body-batches.js';

/** Writes `data` into a fresh stream in pieces of `piece` bytes, on later ticks. */
function streamOf(data: Buffer, piece: number): PassThrough {
  const s = new PassThrough();
  void (async () => {
    for (let at = 0; at < data.length; at += piece) {
      await new Promise((r) => setImmediate(r));
      if (!s.write(data.subarray(at, at + piece))) await new Promise((r) => s.once('drain', r));
    }
    s.end();
  })();
  return s;
}

describe('batchedBody', () => {
  it('hands the body on in batches of at least the batch size, the last one shorter, bytes unchanged', async () => {
    const data = randomBytes(10 * 1000 + 123);
    const sizes: number[] = [];
    const out: Buffer[] = [];
    for await (const b of batchedBody(streamOf(data, 700), 3000)) {
      sizes.push(b.length);
      out.push(Buffer.from(b)); // a batch is valid until the next one is asked for
    }
    expect(Buffer.concat(out).equals(data)).toBe(true);
    for (const s of sizes.slice(0, -1)) expect(s).toBeGreaterThanOrEqual(3000);
    expect(sizes.length).toBeLessThanOrEqual(Math.ceil(data.length / 3000));
  });

  it('yields a body smaller than one batch whole, and an empty body not at all', async () => {
    const small = randomBytes(500);
    const got: Buffer[] = [];
    for await (const b of batchedBody(streamOf(small, 100), 4096)) got.push(Buffer.from(b));
    expect(Buffer.concat(got).equals(small)).toBe(true);
    const none: Buffer[] = [];
    for await (const b of batchedBody(streamOf(Buffer.alloc(0), 1), 4096)) none.push(b);
    expect(none).toEqual([]);
  });

  it('fails with BodyEndedEarly when the stream is destroyed midway', async () => {
    const s = new PassThrough();
    s.write(randomBytes(100));
    setImmediate(() => s.destroy(new Error('socket hang up')));
    const consume = async () => {
      for await (const b of batchedBody(s, 1 << 20)) void b;
    };
    await expect(consume()).rejects.toBeInstanceOf(BodyEndedEarly);
  });

  it('leaves an abandoned stream paused, undestroyed and without its listeners', async () => {
    const s = streamOf(randomBytes(50_000), 1000);
    const before = s.listenerCount('data');
    for await (const b of batchedBody(s, 2000)) {
      expect(b.length).toBeGreaterThanOrEqual(2000);
      break;
    }
    expect(s.destroyed).toBe(false);
    expect(s.isPaused()).toBe(true);
    expect(s.listenerCount('data')).toBe(before);
    expect(s.listenerCount('close')).toBe(0);
  });
});
