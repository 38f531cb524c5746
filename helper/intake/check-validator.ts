/**
 * Parses and validates raw check bodies off the event loop. A maximum check
 * (limits.maxSegments hashes, tens of MiB of JSON) takes hundreds of
 * milliseconds to decode, parse, base64-decode and hash into a tree root;
 * inline, every other request (/helper/v1/info, uploads) would wait that long.
 *
 * One worker thread, started on first use and stopped once idle for
 * CHECK_WORKER_IDLE_MS (an idle worker still holds ~10 MiB of isolate and
 * malloc arenas for the whole put that follows its check); checks are
 * validated one at a time in arrival order. Bodies smaller than
 * INLINE_BODY_BYTES are validated here: they cost less than the round trip.
 * A worker that dies fails the check it was running with a 500 INTERNAL; the
 * next check starts a new worker.
 */
import type { Worker } from 'node:worker_threads';
import { ERROR_CODES, FerryError, type ErrorCode } from '../../core/errors.js';
import { startWorker } from '../../runtime/worker-thread.js';
import { parseCheckBody, type CheckLimits, type ValidCheck } from './check-request.js';
import type { CheckWorkerRequest, CheckWorkerResponse, SerializedCheckError } from './check-worker-protocol.js';

/** Bodies below this many bytes are parsed on the main thread (well under a millisecond). */
export const INLINE_BODY_BYTES = 64 * 1024;

/** A worker with nothing to do this long is stopped; starting one again costs tens of milliseconds. */
export const CHECK_WORKER_IDLE_MS = 2_000;

interface Pending {
  id: number;
  body: Uint8Array;
  resolve: (v: ValidCheck) => void;
  reject: (err: Error) => void;
}

const KNOWN_CODES: ReadonlySet<string> = new Set(ERROR_CODES);

function revive(e: SerializedCheckError): FerryError {
  const code: ErrorCode = KNOWN_CODES.has(e.code) ? (e.code as ErrorCode) : 'INTERNAL';
  return new FerryError(code, e.message, Object.keys(e.details).length ? { details: e.details } : undefined);
}

/** The body's own ArrayBuffer when it spans all of it (transferable as is), else a copy. */
function ownBuffer(body: Uint8Array): ArrayBuffer {
  const b = body.buffer;
  if (b instanceof ArrayBuffer && body.byteOffset === 0 && body.byteLength === b.byteLength) return b;
  return body.slice().buffer as ArrayBuffer;
}

export class CheckValidator {
  private worker: Worker | undefined;
  private running: Pending | undefined;
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  private idleTimer: NodeJS.Timeout | undefined;

  private readonly limits: CheckLimits;

  constructor(
    limits: CheckLimits,
    private readonly idleMs = CHECK_WORKER_IDLE_MS,
  ) {
    // Only what a check is held to crosses to the worker with each request.
    this.limits = { maxFileSize: limits.maxFileSize, minSegmentSize: limits.minSegmentSize, maxSegments: limits.maxSegments, maxCodedSegmentBytes: limits.maxCodedSegmentBytes };
  }

  /** The check in `body` (a raw JSON request body), validated; the body's memory may be transferred away. */
  validate(body: Uint8Array): Promise<ValidCheck> {
    if (this.closed) return Promise.reject(new FerryError('UNAVAILABLE', 'the helper is shutting down'));
    if (body.byteLength < INLINE_BODY_BYTES) return parseCheckBody(body, this.limits);
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, body, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.running || this.closed) return;
    const next = this.queue.shift();
    if (!next) {
      this.worker?.unref(); // an idle worker never keeps the process alive
      if (this.worker && !this.idleTimer) {
        this.idleTimer = setTimeout(() => this.stopIdle(), this.idleMs);
        this.idleTimer.unref();
      }
      return;
    }
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.running = next;
    const worker = this.workerFor();
    worker.ref();
    const buffer = ownBuffer(next.body);
    const msg: CheckWorkerRequest = { id: next.id, body: buffer, limits: this.limits };
    worker.postMessage(msg, [buffer]);
  }

  private workerFor(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker(import.meta.url, 'check-worker');
    worker.on('message', (res: CheckWorkerResponse) => this.answered(res));
    worker.on('error', (err) => this.died(worker, err));
    worker.on('exit', (code) => this.died(worker, new Error(`check worker exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  /** Whether a worker thread is running now (tests). */
  get workerRunning(): boolean {
    return this.worker !== undefined;
  }

  private stopIdle(): void {
    this.idleTimer = undefined;
    const worker = this.worker;
    if (!worker || this.running || this.queue.length) return;
    this.worker = undefined; // before terminate: its 'exit' is then not a death
    void worker.terminate();
  }

  private answered(res: CheckWorkerResponse): void {
    const task = this.running;
    if (!task || task.id !== res.id) return;
    this.running = undefined;
    if (res.ok) task.resolve(res.check);
    else task.reject(revive(res.error));
    this.pump();
  }

  private died(worker: Worker, cause: Error): void {
    if (this.worker !== worker) return; // already replaced (an 'error' is followed by 'exit')
    this.worker = undefined;
    void worker.terminate();
    const task = this.running;
    this.running = undefined;
    if (!this.closed) task?.reject(new FerryError('INTERNAL', 'the check could not be validated (its worker stopped)', { cause }));
    this.pump();
  }

  /** Stops the worker; checks still waiting are refused. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleTimer);
    const waiting = [...(this.running ? [this.running] : []), ...this.queue.splice(0)];
    this.running = undefined;
    for (const t of waiting) t.reject(new FerryError('UNAVAILABLE', 'the helper is shutting down'));
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}
