import { FerryError } from '../../core/errors.js';
import { HASH_BYTES } from '../../core/merkle.js';
import { blockHashesAsync, ShareSetBuilder, splitSegment } from '../../core/share-builder.js';
import { blockRange, shareLayout } from '../../core/share-layout.js';
import type { GridServer } from '../grid/grid.js';
import { shareMapOf, surveyShares } from '../grid/grid.js';
import { happinessOf, placeShares, type ShareGraph } from '../push/happiness.js';
import { ShareSink } from '../push/share-sink.js';
import type { Job, JobResult } from '../jobs/job.js';
import { jobGeometry } from '../jobs/geometry.js';
import { SegmentSource } from './segment-source.js';

export type EncodeFn = (k: number, n: number, blocks: Uint8Array[]) => Promise<Uint8Array[]>;

export interface EncodePushContext {
  job: Job;
  /** Where the spool is now (it moves from incoming/ to encoding/ when complete). */
  spoolFile: () => Promise<string>;
  /**
   * Resolves once the spool holds verified bytes up to `end`. Absent when the
   * spool is complete; present when encoding starts while the upload goes on.
   */
  available?: (end: number, signal?: AbortSignal) => Promise<void>;
  segmentHashes: Uint8Array;
  servers: GridServer[];
  encode: EncodeFn;
  /** Persists the placement before any byte is pushed. */
  savePlacement(placement: Record<string, string>): Promise<void>;
  progress(p: { segmentsEncoded: number; pushedBytes: Record<string, number>; final?: boolean }): Promise<void> | void;
  signal?: AbortSignal;
  /** How many times a pass may restart after losing servers. */
  maxPasses?: number;
  log?: { warn(obj: object, msg: string): void };
}

class ServerLost extends Error {
  constructor(readonly serverId: string, cause: unknown) {
    super(`storage server ${serverId} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * Encodes a spooled ciphertext into n shares and pushes them, streaming
 * segment by segment. Placement is servers-of-happiness over the servers that
 * answer; a server that fails mid-push is dropped and the pass restarts with
 * its shares placed elsewhere (servers keep what they received, so the
 * restart only sends what is missing).
 */
export async function encodeAndPush(ctx: EncodePushContext): Promise<JobResult> {
  const started = Date.now();
  const lost = new Set<string>();
  const maxPasses = ctx.maxPasses ?? 4;
  let lastError: unknown;
  for (let pass = 0; pass < maxPasses; pass++) {
    try {
      return await onePass(ctx, lost, started);
    } catch (err) {
      if (!(err instanceof ServerLost)) throw err;
      lost.add(err.serverId);
      lastError = err;
      ctx.log?.warn({ si: ctx.job.si, server: err.serverId, err: err.message }, 'storage server lost mid-push; re-placing its shares');
    }
  }
  throw new FerryError('HAPPINESS_NOT_MET', `gave up after ${maxPasses} passes losing servers: ${String(lastError)}`);
}

async function onePass(ctx: EncodePushContext, lost: Set<string>, started: number): Promise<JobResult> {
  const { job } = ctx;
  const { si } = job;
  const g = jobGeometry(job);
  const layout = shareLayout(g);
  const candidates = ctx.servers.filter((s) => !lost.has(s.id));
  const survey = await surveyShares(candidates, si);
  const keep = new Map(Object.entries(job.placement ?? {}).map(([s, id]) => [Number(s), id]));
  const plan = placeShares({ n: g.n, writable: survey.reachable.map((s) => s.id), existing: survey.existing, keep });
  const happy = job.params.happy;
  if (plan.happiness < happy) {
    const holders = new Set([...plan.push.values(), ...[...plan.existing.values()].flatMap((set) => [...set])]);
    const placed = new Set([...plan.push.keys(), ...plan.existing.keys()]).size;
    throw new FerryError(
      'HAPPINESS_NOT_MET',
      `placed ${placed} of ${g.n} shares on ${holders.size} servers: happiness ${plan.happiness} < happy ${happy} ` +
        `(${survey.reachable.length} of ${ctx.servers.length} servers reachable; ${survey.unreachable.length + lost.size} unreachable or failed)`,
      { details: { happiness: plan.happiness, happy, reachable: survey.reachable.length } },
    );
  }
  await ctx.savePlacement(Object.fromEntries([...plan.push].map(([s, id]) => [String(s), id])));

  // Allocate on each server; what a server already has completely counts as existing.
  const byId = new Map(candidates.map((s) => [s.id, s]));
  const existing: ShareGraph = new Map([...plan.existing].map(([s, set]) => [s, new Set(set)]));
  const pushedBytes: Record<string, number> = {};
  const sinks: ShareSink[] = [];
  const perServer = new Map<string, number[]>();
  for (const [s, id] of plan.push) perServer.set(id, [...(perServer.get(id) ?? []), s]);
  await Promise.all(
    [...perServer].map(async ([id, shnums]) => {
      const server = byId.get(id)!;
      const alloc = await guard(id, () => server.client.allocate(si, layout.end, shnums, { signal: ctx.signal }));
      for (const s of alloc.alreadyHave) addEdge(existing, s, id);
      for (const s of alloc.allocated) {
        const missing = alloc.missing[String(s)] ?? [[0, layout.end]];
        sinks.push(new ShareSink(server, si, s, missing, (b) => (pushedBytes[id] = (pushedBytes[id] ?? 0) + b), undefined, ctx.signal));
      }
    }),
  );

  const builder = new ShareSetBuilder(layout);
  const source = await SegmentSource.open(await ctx.spoolFile(), g);
  const scratch = new Uint8Array(g.segmentSize);
  // Segment i+1 is read and coded while segment i is hashed and handed to the sinks.
  const prepare = async (i: number) => {
    await ctx.available?.(Math.min(g.size, (i + 1) * g.segmentSize), ctx.signal);
    const segment = await source.read(i);
    return ctx.encode(g.k, g.n, splitSegment(g, i, segment, i === g.numSegments - 1 ? scratch : undefined));
  };
  try {
    let next = prepare(0);
    for (let i = 0; i < g.numSegments; i++) {
      ctx.signal?.throwIfAborted();
      const blocks = await next;
      if (i + 1 < g.numSegments) next = prepare(i + 1);
      next.catch(() => undefined); // observed on the next turn
      builder.restoreSegment(i, ctx.segmentHashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES), await blockHashesAsync(blocks));
      const { offset } = blockRange(layout, i);
      await Promise.all(sinks.map((sink) => guard(sink.server.id, () => sink.write(offset, blocks[sink.shnum]))));
      void ctx.progress({ segmentsEncoded: i + 1, pushedBytes });
    }
  } finally {
    await source.close();
  }
  const encoded = builder.finish();
  if (!Buffer.from(encoded.crypttextRoot).equals(Buffer.from(job.crypttextRoot, 'hex'))) {
    throw new FerryError('INTEGRITY_ERROR', 'crypttext root of the spool differs from the one checked in');
  }
  await Promise.all(
    sinks.map((sink) =>
      guard(sink.server.id, async () => {
        await sink.write(0, encoded.headers[sink.shnum]);
        await sink.write(layout.blockTreeOffset, encoded.trailers[sink.shnum]);
        await sink.finish();
      }),
    ),
  );
  await ctx.progress({ segmentsEncoded: g.numSegments, pushedBytes, final: true });

  const final: ShareGraph = new Map([...existing].map(([s, set]) => [s, new Set(set)]));
  for (const sink of sinks) addEdge(final, sink.shnum, sink.server.id);
  const pushed = sinks.map((s) => s.shnum).sort((a, b) => a - b);
  return {
    uebHash: encoded.uebHash.toString('hex'),
    ueb: encoded.ueb.toString('base64'),
    shareMap: shareMapOf(final),
    pushed,
    preexisting: [...existing.keys()].filter((s) => !pushed.includes(s)).sort((a, b) => a - b),
    happiness: happinessOf(final),
    timings: { encodeMs: Date.now() - started, totalMs: Date.now() - job.createdAt },
  };
}

function addEdge(g: ShareGraph, s: number, id: string): void {
  if (!g.has(s)) g.set(s, new Set());
  g.get(s)!.add(id);
}

/** Turns a failure talking to one server into ServerLost, so the pass can re-place its shares. */
async function guard<T>(serverId: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof FerryError && (err.code === 'INTEGRITY_ERROR' || err.code === 'INVALID_PARAMETERS')) throw err;
    if ((err as Error)?.name === 'AbortError') throw err;
    throw new ServerLost(serverId, err);
  }
}
