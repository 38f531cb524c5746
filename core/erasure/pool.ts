/**
 * A small worker_threads pool for the erasure codec, so coding runs off the main
 * thread and segments are coded in parallel on all cores.
 *
 * Buffers cross threads by transfer, never by structured-clone copies:
 *  - inputs are copied into one fresh buffer per call, which is transferred; with
 *    `transfer: true` the caller's own buffers are transferred instead (zero-copy;
 *    they are detached in the caller afterwards);
 *  - results come back in buffers transferred from the worker: fresh ones, or the
 *    caller's `outputs` (transferred there and back). Fresh multi-MiB buffers cost
 *    page faults, so a caller that codes many segments should recycle: pass
 *    `transfer: true` and `outputs`, then reuse the returned views for the next call.
 * Results are never the caller's objects (they may be views of the caller's memory).
 *
 * Idle workers are unref'd, so the pool never keeps the process alive by itself;
 * a worker is ref'd only while it has a task in flight.
 */
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FerryError, FormatError, type ErrorCode } from '../errors.js';
import { validateBlocks, validateCodecParams, validateShareNums } from './codec.js';
import { transferablesOf, type CodecHashes, type CodecOp, type CodecRequest, type CodecResponse, type SerializedError } from './protocol.js';

export type { CodecHashes } from './protocol.js';

export interface CodecPoolOptions {
  /** Maximum number of worker threads; default os.availableParallelism(). */
  size?: number;
}

export interface CodecTaskOptions {
  /** Transfer the input buffers to the worker instead of copying them (they become detached). */
  transfer?: boolean;
  /**
   * Buffers for the results, laid out as the `outputs` of the matching ErasureCodec
   * method (encode: m-k check shares; encodeShares: aligned with shareNums; decode:
   * indexed by block number; leave ignored entries undefined). They are transferred
   * (detached here) and come back as the results.
   */
  outputs?: readonly (Uint8Array | undefined)[];
}

interface Task {
  req: CodecRequest;
  /** Inputs were packed by us, so buffers the worker hands back are ours to reuse. */
  packed: boolean;
  transfer: ArrayBuffer[];
  resolve: (blocks: Uint8Array[], hashes?: CodecHashes) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  /** Tasks sent to this worker, oldest first; it answers them in order. */
  tasks: Task[];
}

/**
 * Tasks queued inside each worker: a second one waiting there means the worker starts
 * on it as soon as it posts a result, instead of idling for a round trip to us.
 */
const PER_WORKER = 2;

/** URL of tsx's ESM register API, found through tsx's package.json exports. */
function tsxApiUrl(): string {
  const pkgPath = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports?: Record<string, { import?: { default?: string } }> };
  const rel = pkg.exports?.['./esm/api']?.import?.default ?? './dist/esm/api/index.mjs';
  return pathToFileURL(join(dirname(pkgPath), rel)).href;
}

/**
 * Compiled (dist/*.js): the worker is worker.js next to this file. Running the .ts
 * sources (vitest, tsx): worker.ts needs tsx's loader, and on Node 20 `--import tsx`
 * in a worker's execArgv does not cover the worker's own entry module, so a tiny
 * bootstrap registers tsx and then imports it.
 */
function startWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./worker.js', here));
  const entry = new URL('./worker.ts', here).href;
  const boot = `import(${JSON.stringify(tsxApiUrl())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { eval: true });
}

function reviveError(e: SerializedError): Error {
  if (e.code !== undefined) {
    const code = e.code as ErrorCode;
    return e.name === 'FormatError' ? new FormatError(code, e.message) : new FerryError(code, e.message);
  }
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}

function checkOutputs(outputs: readonly (Uint8Array | undefined)[] | undefined, count: number, len: number): void {
  if (outputs === undefined) return;
  if (!Array.isArray(outputs) || outputs.length !== count) {
    throw new FormatError('INVALID_PARAMETERS', `outputs must hold exactly ${count} entries`);
  }
  outputs.forEach((o, i) => {
    if (o !== undefined && (!(o instanceof Uint8Array) || o.length < len)) {
      throw new FormatError('INVALID_PARAMETERS', `outputs[${i}] must be a Uint8Array of at least ${len} bytes`);
    }
  });
}

export class CodecPool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;
  /** Packing buffers handed back by workers: reusing them avoids fresh-memory page faults. */
  private readonly spare: ArrayBuffer[] = [];

  constructor(options: CodecPoolOptions = {}) {
    const size = options.size ?? availableParallelism();
    if (!Number.isInteger(size) || size < 1) {
      throw new FormatError('INVALID_PARAMETERS', `pool size must be a positive integer, got ${size}`);
    }
    this.size = size;
  }

  /** All m shares of k blocks, as ErasureCodec.encode. */
  encode(k: number, m: number, blocks: readonly Uint8Array[], options?: CodecTaskOptions): Promise<Uint8Array[]> {
    return this.submit('encode', k, m, blocks, undefined, options, () => {
      checkOutputs(options?.outputs, m - k, validateBlocks(blocks, k, 'blocks'));
    });
  }

  /**
   * As encode, and the worker also hashes what it coded: the crypttext
   * segment (the first `segmentLength` bytes of the blocks, i.e. without the
   * tail's zero padding) and each of the m result blocks, tagged as
   * core/share-builder.ts crypttextSegmentHash and blockHash are.
   */
  encodeHashed(k: number, m: number, blocks: readonly Uint8Array[], segmentLength: number, options?: CodecTaskOptions): Promise<{ shares: Uint8Array[]; hashes: CodecHashes }> {
    return new Promise((resolve, reject) => {
      if (!Number.isSafeInteger(segmentLength) || segmentLength < 0) throw new FormatError('INVALID_PARAMETERS', `segment length must be a non-negative integer, got ${segmentLength}`);
      this.submit('encode', k, m, blocks, undefined, options, () => checkOutputs(options?.outputs, m - k, validateBlocks(blocks, k, 'blocks')), { segmentLength }, (shares, hashes) =>
        hashes ? resolve({ shares, hashes }) : reject(new FerryError('INTERNAL', 'codec worker sent no hashes')),
      ).catch(reject);
    });
  }

  /** The shares numbered shareNums, in that order, as ErasureCodec.encodeShares. */
  encodeShares(k: number, m: number, blocks: readonly Uint8Array[], shareNums: readonly number[], options?: CodecTaskOptions): Promise<Uint8Array[]> {
    return this.submit('encodeShares', k, m, blocks, shareNums, options, () => {
      const len = validateBlocks(blocks, k, 'blocks');
      validateShareNums(shareNums, m);
      checkOutputs(options?.outputs, shareNums.length, len);
    });
  }

  /** The k primary blocks from k shares, as ErasureCodec.decode. */
  decode(k: number, m: number, shares: readonly Uint8Array[], shareNums: readonly number[], options?: CodecTaskOptions): Promise<Uint8Array[]> {
    return this.submit('decode', k, m, shares, shareNums, options, () => {
      const len = validateBlocks(shares, k, 'shares');
      if (!Array.isArray(shareNums) || shareNums.length !== shares.length) {
        throw new FormatError('INVALID_PARAMETERS', 'need one share number per share');
      }
      validateShareNums(shareNums, m);
      checkOutputs(options?.outputs, k, len);
    });
  }

  /** Rejects queued and in-flight tasks (code ABORTED) and stops all workers. */
  async close(): Promise<void> {
    this.closed = true;
    const aborted = () => new FerryError('ABORTED', 'codec pool closed');
    for (const task of this.queue.splice(0)) task.reject(aborted());
    const slots = this.slots.splice(0);
    for (const slot of slots) for (const task of slot.tasks.splice(0)) task.reject(aborted());
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private submit(
    op: CodecOp,
    k: number,
    m: number,
    blocks: readonly Uint8Array[],
    shareNums: readonly number[] | undefined,
    options: CodecTaskOptions | undefined,
    validate: () => void,
    hash?: { segmentLength: number },
    onHashes?: (blocks: Uint8Array[], hashes?: CodecHashes) => void,
  ): Promise<Uint8Array[]> {
    return new Promise<Uint8Array[]>((resolveBlocks, reject) => {
      const resolve = (blocks: Uint8Array[], hashes?: CodecHashes) => {
        onHashes?.(blocks, hashes);
        resolveBlocks(blocks);
      };
      if (this.closed) throw new FerryError('ABORTED', 'codec pool is closed');
      // Reject bad arguments here, before any buffer is copied or detached.
      validateCodecParams(k, m);
      validate();
      const copy = options?.transfer !== true;
      const sent = copy ? this.packed(blocks) : [...blocks];
      const outputs = options?.outputs && [...options.outputs];
      const req: CodecRequest = { id: this.nextId++, op, k, m, blocks: sent, shareNums: shareNums && [...shareNums], outputs, ...(hash && { hash }) };
      const buffers = [...sent, ...(outputs ?? [])].filter((b): b is Uint8Array => b !== undefined);
      this.queue.push({ req, packed: copy, transfer: transferablesOf(buffers), resolve, reject });
      this.pump();
    });
  }

  /** Copies blocks into one buffer, so only their bytes (not larger backing buffers) cross threads. */
  private packed(blocks: readonly Uint8Array[]): Uint8Array[] {
    const len = blocks[0]?.length ?? 0;
    const size = blocks.length * len;
    const i = this.spare.findIndex((b) => b.byteLength === size);
    const buf = i >= 0 ? this.spare.splice(i, 1)[0] : new ArrayBuffer(size);
    return blocks.map((b, j) => {
      const view = new Uint8Array(buf, j * len, len);
      view.set(b);
      return view;
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      // Least-loaded worker; a new one while below size and all are busy.
      let slot = this.slots.reduce<Slot | undefined>((best, s) => (best === undefined || s.tasks.length < best.tasks.length ? s : best), undefined);
      if (slot === undefined || (slot.tasks.length > 0 && this.slots.length < this.size)) slot = this.spawn();
      if (slot.tasks.length >= PER_WORKER) return;
      const task = this.queue.shift() as Task;
      slot.tasks.push(task);
      slot.worker.ref();
      try {
        slot.worker.postMessage(task.req, task.transfer);
      } catch (err) {
        slot.tasks.pop();
        if (slot.tasks.length === 0) slot.worker.unref();
        task.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  private spawn(): Slot {
    const worker = startWorker();
    const slot: Slot = { worker, tasks: [] };
    worker.unref();
    worker.on('message', (res: CodecResponse) => {
      const task = slot.tasks[0];
      if (task === undefined || task.req.id !== res.id) return;
      slot.tasks.shift();
      if (slot.tasks.length === 0) worker.unref();
      if (!res.ok) {
        task.reject(reviveError(res.error));
      } else {
        if (task.packed) {
          this.spare.push(...res.spare);
          if (this.spare.length > 2 * this.size) this.spare.splice(0, this.spare.length - 2 * this.size);
        }
        task.resolve(res.blocks, res.hashes);
      }
      this.pump();
    });
    const fail = (err: Error): void => {
      const i = this.slots.indexOf(slot);
      if (i < 0) return; // already closed or replaced
      this.slots.splice(i, 1);
      for (const task of slot.tasks.splice(0)) task.reject(err);
      void worker.terminate();
      this.pump();
    };
    worker.on('error', (err) => fail(new FerryError('INTERNAL', `codec worker failed: ${err.message}`, { cause: err })));
    worker.on('messageerror', (err) => fail(new FerryError('INTERNAL', `codec worker message error: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => fail(new FerryError('INTERNAL', `codec worker exited with code ${code}`)));
    this.slots.push(slot);
    return slot;
  }
}
