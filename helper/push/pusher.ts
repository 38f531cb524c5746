/**
 * The one pusher: uploads (blocks from the encoder) and repairs (blocks
 * regenerated from k good shares) both end here. Given where each new share
 * goes, it saves that placement (so a restarted job continues the same
 * partial shares), allocates on every target, feeds the blocks segment by
 * segment into resumable share sinks, and writes headers and trailers last.
 * A target that fails becomes ServerLost; `runPasses` then starts another
 * pass with its shares placed elsewhere (servers keep what they received, so
 * the next pass only sends what is missing).
 */
import { FerryError, isFerryError } from '../../core/errors.js';
import { blockRange, type ShareLayout } from '../../core/share-layout.js';
import { addEdge, messageOf, type GridServer, type ShareGraph } from '../grid/grid.js';
import { ShareSink } from './share-sink.js';

/** A server taking new shares failed. The pass starts again with its shares placed elsewhere. */
export class ServerLost extends Error {
  constructor(
    readonly serverId: string,
    cause: unknown,
  ) {
    super(`storage server ${serverId} failed: ${messageOf(cause)}`, { cause });
    this.name = 'ServerLost';
  }
}

function isAbort(err: unknown): boolean {
  return (err as Error)?.name === 'AbortError' || (isFerryError(err) && err.code === 'ABORTED');
}

/**
 * Runs a call to a target server; its failure becomes ServerLost, except an
 * abort and a refusal of the bytes themselves (any other server would refuse them too).
 */
export async function guardServer<T>(serverId: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ServerLost || isAbort(err)) throw err;
    if (isFerryError(err) && (err.code === 'INTEGRITY_ERROR' || err.code === 'INVALID_PARAMETERS')) throw err;
    throw new ServerLost(serverId, err);
  }
}

export interface PassOptions {
  maxPasses: number;
  /** Servers lost in earlier passes; grows as servers fail. */
  lost: Set<string>;
  signal?: AbortSignal;
  /** Another reason to start a new pass (repair: a source copy failed); true to go on. */
  retry?(err: unknown, pass: number): Promise<boolean>;
  /** The error thrown once every pass failed. */
  giveUp(lastError: unknown): Error;
  log?: { warn(obj: object, msg: string): void };
  si: string;
}

/** Runs `pass` until it succeeds, starting again after a lost server (or what `retry` accepts). */
export async function runPasses<T>(o: PassOptions, pass: () => Promise<T>): Promise<T> {
  let lastError: unknown;
  for (let i = 0; i < o.maxPasses; i++) {
    o.signal?.throwIfAborted();
    try {
      return await pass();
    } catch (err) {
      if (err instanceof ServerLost) {
        o.lost.add(err.serverId);
        o.log?.warn({ si: o.si, server: err.serverId, err: err.message }, 'storage server lost mid-push; re-placing its shares');
      } else if (!o.retry || !(await o.retry(err, i))) {
        throw err;
      }
      lastError = err;
    }
  }
  throw o.giveUp(lastError);
}

export interface ShareTail {
  header: Uint8Array;
  trailer: Uint8Array;
}

/** Share tails produced on demand, so a source need not hold all n at once. */
export interface ShareTails {
  get(shnum: number): Promise<ShareTail>;
  /** Called once every tail was taken (or the push failed). */
  close?(): Promise<void>;
}

/** Where blocks come from: the encoder for an upload, regeneration for a repair. */
export interface BlockSource {
  /**
   * Produces the blocks of every segment, in order, for the share numbers
   * `shnums` (ascending), handing each segment to `deliver` and awaiting it.
   * `owned`: the blocks are fresh buffers nobody reuses, so sinks may keep
   * them without copying.
   */
  feed(shnums: readonly number[], deliver: (segment: number, blockOf: (shnum: number) => Uint8Array, owned?: boolean) => Promise<void>): Promise<void>;
  /**
   * Once fed: each share's header and trailer. Throws when the shares must
   * not be finished (their bytes do not prove right); they are then dropped.
   */
  trailers(shnums: readonly number[]): Promise<Map<number, ShareTail> | ShareTails>;
}

/** Shares finished at once: each holds its trailer (a tree over every segment) until acknowledged. */
const TAILS_AT_ONCE = 3;

export interface PushJob {
  si: string;
  layout: ShareLayout;
  /** New shares: shnum -> server id. */
  push: ReadonlyMap<number, string>;
  servers: readonly GridServer[];
  /** Persists the placement before any byte is pushed. */
  savePlacement(placement: Record<string, string>): Promise<void>;
  /** After each segment (and once more with `final` when every share is written). */
  progress?(segmentsDone: number, pushedBytes: Record<string, number>, final: boolean): Promise<void> | void;
  /** Bytes per write: gathered (headers, trailers) or, for blocks, streamed; default 2 MiB gathered, 16 MiB streamed. */
  flushBytes?: number;
  signal?: AbortSignal;
  /** For dropping partial shares that must not be finished. */
  abortTimeoutMs?: number;
}

export interface PushOutcome {
  /** Shares a target already held complete when allocated (shnum -> servers). */
  alreadyHave: ShareGraph;
  /** Share numbers written, ascending, with their servers. */
  pushed: { shnum: number; server: string }[];
  pushedBytes: Record<string, number>;
}

export async function pushShares(job: PushJob, source: BlockSource): Promise<PushOutcome> {
  const { si, layout, signal } = job;
  await job.savePlacement(Object.fromEntries([...job.push].map(([s, id]) => [String(s), id])));

  const byId = new Map(job.servers.map((s) => [s.id, s]));
  const alreadyHave: ShareGraph = new Map();
  const pushedBytes: Record<string, number> = {};
  const sinks: ShareSink[] = [];
  const perServer = new Map<string, number[]>();
  for (const [s, id] of job.push) perServer.set(id, [...(perServer.get(id) ?? []), s]);
  await Promise.all(
    [...perServer].map(async ([id, shnums]) => {
      const server = byId.get(id);
      if (!server) throw new FerryError('INTERNAL', `placement names unknown server ${id}`);
      const alloc = await guardServer(id, () => server.client.allocate(si, layout.end, shnums, { signal }));
      for (const s of alloc.alreadyHave) addEdge(alreadyHave, s, id);
      for (const s of alloc.allocated) {
        const missing = alloc.missing[String(s)] ?? [[0, layout.end]];
        const onPushed = (b: number) => (pushedBytes[id] = (pushedBytes[id] ?? 0) + b);
        sinks.push(new ShareSink(server, si, s, missing, onPushed, { flushBytes: job.flushBytes, windowBytes: job.flushBytes, streamed: { start: layout.blocksOffset, end: layout.blockTreeOffset }, signal }));
      }
    }),
  );
  sinks.sort((a, b) => a.shnum - b.shnum);
  const shnums = sinks.map((s) => s.shnum);

  try {
    await source.feed(shnums, async (segment, blockOf, owned) => {
      signal?.throwIfAborted();
      const { offset } = blockRange(layout, segment);
      await Promise.all(sinks.map((sink) => guardServer(sink.server.id, () => sink.write(offset, blockOf(sink.shnum), owned))));
      // Not awaited: progress is advisory and must not slow the push.
      Promise.resolve(job.progress?.(segment + 1, pushedBytes, false)).catch(() => undefined);
    });
  } catch (err) {
    // Streamed writes still open would hold their shares' locks on the servers until a timeout.
    for (const sink of sinks) sink.abandon();
    throw err;
  }
  let tails: ShareTails;
  try {
    const t = await source.trailers(shnums);
    tails = t instanceof Map ? { get: async (s) => t.get(s)! } : t;
  } catch (err) {
    await abortSinks(sinks, job.abortTimeoutMs ?? 30_000);
    throw err;
  }
  try {
    const queue = [...sinks];
    const finishOne = async (): Promise<void> => {
      for (let sink = queue.shift(); sink; sink = queue.shift()) {
        const s = sink;
        const t = await tails.get(s.shnum);
        await guardServer(s.server.id, async () => {
          await s.write(0, t.header, true);
          await s.write(layout.blockTreeOffset, t.trailer, true);
          await s.finish();
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(TAILS_AT_ONCE, sinks.length) }, finishOne));
  } finally {
    await tails.close?.();
  }
  await job.progress?.(layout.geometry.numSegments, pushedBytes, true);
  return { alreadyHave, pushed: sinks.map((s) => ({ shnum: s.shnum, server: s.server.id })), pushedBytes };
}

/** Drops the partial shares of a pass that must not be finished (their bytes may be wrong). Best effort. */
async function abortSinks(sinks: ShareSink[], timeoutMs: number): Promise<void> {
  await Promise.all(
    sinks.map(async (sink) => {
      try {
        await sink.finish().catch(() => undefined);
        await sink.server.client.abort(sink.si, sink.shnum, { signal: AbortSignal.timeout(timeoutMs) });
      } catch {
        /* the sweep removes it after its idle time */
      }
    }),
  );
}
