/**
 * An upload's push: the encoder feeds the one pusher (helper/push/pusher.ts).
 * Placement is servers-of-happiness over the servers that answer; a server
 * that fails mid-push is dropped and the pass restarts with its shares placed
 * elsewhere.
 */
import { FerryError } from '../../core/errors.js';
import { shareLayout } from '../../core/share-layout.js';
import { addEdge, copyGraph, shareMapOf, type GridServer } from '../grid/grid.js';
import { surveyShares } from '../grid/locate.js';
import type { Job, JobResult } from '../jobs/job.js';
import { jobGeometry } from '../jobs/geometry.js';
import { happinessOf, placeShares } from '../push/happiness.js';
import { pushShares, runPasses } from '../push/pusher.js';
import { EncoderSource, type EncodeFn } from './encoder-source.js';

export type { EncodeFn } from './encoder-source.js';

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
  /** The job's crypttext root as stored now (the encoder stops if it is no longer `job.crypttextRoot`). */
  currentRoot: () => Promise<string>;
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

/** Encodes a spooled ciphertext into n shares and pushes them, streaming segment by segment. */
export async function encodeAndPush(ctx: EncodePushContext): Promise<JobResult> {
  const started = Date.now();
  const lost = new Set<string>();
  const maxPasses = ctx.maxPasses ?? 4;
  return runPasses(
    {
      maxPasses,
      lost,
      si: ctx.job.si,
      log: ctx.log,
      giveUp: (last) => new FerryError('HAPPINESS_NOT_MET', `gave up after ${maxPasses} passes losing servers: ${String(last)}`),
    },
    () => onePass(ctx, lost, started),
  );
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
  const source = new EncoderSource({ geometry: g, layout, spoolFile: ctx.spoolFile, available: ctx.available, segmentHashes: ctx.segmentHashes, crypttextRoot: job.crypttextRoot, currentRoot: ctx.currentRoot, encode: ctx.encode, signal: ctx.signal });
  const out = await pushShares(
    {
      si,
      layout,
      push: plan.push,
      servers: candidates,
      savePlacement: ctx.savePlacement,
      progress: (segmentsEncoded, pushedBytes, final) => ctx.progress(final ? { segmentsEncoded, pushedBytes, final } : { segmentsEncoded, pushedBytes }),
      signal: ctx.signal,
    },
    source,
  );
  const encoded = source.result();
  // What a server already had completely counts as existing.
  const existing = copyGraph(plan.existing);
  for (const [s, ids] of out.alreadyHave) for (const id of ids) addEdge(existing, s, id);
  const final = copyGraph(existing);
  for (const p of out.pushed) addEdge(final, p.shnum, p.server);
  const pushed = out.pushed.map((p) => p.shnum);
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
