/**
 * A request body as an async iterable of large batches. Over TLS, Node hands
 * the body over in 16 KiB pieces; iterating them one by one (req.iterator, a
 * promise and several stream callbacks each) was most of the storage
 * server's JavaScript time per byte received. Here the pieces are collected
 * from 'data' events and handed on once `batchBytes` have arrived (the last
 * batch may be shorter): one promise per batch.
 *
 * A batch is copied into one buffer reused for the whole request (a fresh
 * 1 MiB buffer per batch cost page faults and GC time): it is valid only
 * until the next batch is asked for. The request is paused while a full
 * batch waits for its consumer, so about two batches are held at most. Ending the iteration early removes
 * the listeners and leaves the request paused and undestroyed (its socket
 * still carries the error response; see releaseRequestBody).
 */
import type { Readable } from 'node:stream';

/** Why a body ended early: the client went away or the stream failed. */
export class BodyEndedEarly extends Error {
  constructor(cause?: unknown) {
    super('request body ended before it was complete', { cause });
    this.name = 'BodyEndedEarly';
  }
}

/** Room beyond a batch's size: the piece that completes it may overshoot by up to a socket read. */
const SLACK = 64 * 1024;

export function batchedBody(req: Readable, batchBytes: number): AsyncIterable<Buffer> {
  return { [Symbol.asyncIterator]: () => batches(req, Math.max(1, batchBytes)) };
}

async function* batches(req: Readable, batchBytes: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let bytes = 0;
  let reused: Buffer | undefined;
  let ended = req.readableEnded;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onData = (chunk: Buffer) => {
    parts.push(chunk);
    bytes += chunk.length;
    if (bytes >= batchBytes) {
      req.pause();
      poke();
    }
  };
  const onEnd = () => {
    ended = true;
    poke();
  };
  const onError = (err: unknown) => {
    failure ??= err;
    poke();
  };
  // 'close' without 'end': the client went away mid-body.
  const onClose = () => {
    if (!ended) failure ??= new Error('request closed before its body ended');
    poke();
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onError);
  req.on('close', onClose);
  try {
    if (!ended && req.destroyed) failure = new Error('request closed before its body ended');
    req.resume();
    while (true) {
      if (bytes >= batchBytes || (ended && bytes > 0)) {
        const out = parts.length === 1 ? parts[0] : gather(parts, bytes, (reused ??= Buffer.allocUnsafe(ended ? bytes : bytes + SLACK)));
        parts = [];
        bytes = 0;
        yield out;
        if (!ended && failure === undefined) req.resume();
        continue;
      }
      if (failure !== undefined) throw new BodyEndedEarly(failure);
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onError);
    req.off('close', onClose);
    if (!req.readableEnded) req.pause();
  }
}

/** Copies `parts` (`bytes` in all) into `into` when they fit, else into a new buffer. */
function gather(parts: Buffer[], bytes: number, into: Buffer): Buffer {
  if (bytes > into.length) return Buffer.concat(parts, bytes);
  let at = 0;
  for (const p of parts) {
    into.set(p, at);
    at += p.length;
  }
  return into.subarray(0, bytes);
}
