/**
 * One repair: from a verify-cap alone (the helper never needs the read key),
 * make every share number exist as a good copy and servers-of-happiness hold.
 *
 *   survey + verify   which copies exist, which are good (cheap check; every
 *                     byte when asked, or of all copies once one is bad)
 *   place             servers-of-happiness over the good copies; servers that
 *                     hold no share of the file first; the placement is saved
 *                     before any byte is pushed, so a restarted job continues
 *                     the same partial shares
 *   regenerate        k good shares' blocks -> primary blocks -> the missing
 *                     share numbers, pushed as they are produced; trailers
 *                     (block tree, share hash chain, crypttext tree, UEB) are
 *                     written last, once the share tree built from every
 *                     share's block-tree root proves equal to the UEB's
 *   leases            renewed on every server holding a good copy
 *
 * A copy that turns out bad while it is read is reported, remembered in the
 * job and replaced; a server that fails while taking shares is dropped and
 * the pass starts again (servers keep what they received, so only what is
 * missing is sent). Bad copies cannot be deleted through the storage API: a
 * corrupt share is "replaced" by regenerating its share number onto another
 * server.
 */
import type { VerifyCap } from '../../core/capability.js';
import { FerryError } from '../../core/errors.js';
import { uebHash } from '../../core/ueb.js';
import { addEdge, copyGraph, copyKey, messageOf, shareMapOf, type GridServer, type ShareCopy } from '../grid/grid.js';
import { renewLeases, reportCorruption, type GridIo } from '../grid/io.js';
import type { FileShape } from '../grid/open-file.js';
import type { CorruptShare, JobResult } from '../jobs/job.js';
import { happinessOf } from '../push/happiness.js';
import { pushShares, runPasses } from '../push/pusher.js';
import type { RepairCodec } from './codec.js';
import { inspectFile, type Inspection } from './inspect.js';
import { placeRepair } from './placement.js';
import { RegeneratedShares, SourceFailure } from './regenerate.js';

export interface RepairSettings {
  /** Per storage call (default 30 s). */
  timeoutMs: number;
  /** Per share list (default 10 s). */
  surveyTimeoutMs: number;
  /** Bytes of blocks read per source at once (default 2 MiB). */
  windowBytes: number;
  /** Shares up to this size are read whole for a full check (default 8 MiB). */
  wholeShareMax: number;
  /** Bytes a share sink gathers before one write (default 2 MiB). */
  flushBytes: number;
  /** Passes (survey, place, push) one attempt may make after losing servers or sources (default 6). */
  maxPasses: number;
}

export const DEFAULT_REPAIR_SETTINGS: RepairSettings = {
  timeoutMs: 30_000,
  surveyTimeoutMs: 10_000,
  windowBytes: 2 * 1024 * 1024,
  wholeShareMax: 8 * 1024 * 1024,
  flushBytes: 2 * 1024 * 1024,
  maxPasses: 6,
};

export interface RepairHooks {
  /** Awaited before segment `segment` is coded (tests stop a repair at a chosen moment). */
  beforeSegment?(si: string, segment: number): Promise<void> | void;
}

export interface RepairRun {
  si: string;
  cap: VerifyCap;
  /** Check every byte of every copy, not only the cheap check. */
  verify: boolean;
  happy: number;
  /** Placement saved by an earlier attempt (shnum -> server id). */
  placement: Record<string, string> | undefined;
  /** Copies already known to be bad. */
  knownCorrupt: CorruptShare[];
  servers(): Promise<GridServer[]>;
  codec: RepairCodec;
  settings: RepairSettings;
  hooks: RepairHooks;
  signal: AbortSignal;
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** The UEB is known: the job's parameters and crypttext root can be set from it. */
  learnt(file: FileShape): Promise<void>;
  savePlacement(placement: Record<string, string>): Promise<void>;
  saveCorrupt(corrupt: CorruptShare[]): Promise<void>;
  progress(p: { segmentsEncoded: number; pushedBytes: Record<string, number>; final?: boolean }): Promise<void> | void;
  /** When the job was created (for timings.totalMs). */
  createdAt: number;
}

interface PassState {
  corrupt: Map<string, CorruptShare>;
  /** Servers that failed while taking shares: not written to again in this attempt. */
  lost: Set<string>;
  /** Copies that could not be read (not corrupt): not used as sources in this attempt. */
  unreadable: Set<string>;
  /** Check every byte of every copy. */
  full: boolean;
}

export async function runRepair(r: RepairRun): Promise<JobResult> {
  const started = Date.now();
  const state: PassState = {
    corrupt: new Map(r.knownCorrupt.map((c) => [copyKey(c.shnum, c.server), c])),
    lost: new Set(),
    unreadable: new Set(),
    full: r.verify,
  };
  // A source copy that fails is remembered (a corrupt one reported) and the pass starts again without it.
  const retry = async (err: unknown, pass: number): Promise<boolean> => {
    if (!(err instanceof SourceFailure)) return false;
    const key = copyKey(err.copy.shnum, err.copy.server.id);
    if (err.kind === 'corrupt') {
      state.corrupt.set(key, { shnum: err.copy.shnum, server: err.copy.server.id, reason: err.reason });
      state.full = true; // one bad block: look at every byte of the others too
      await reportCorruption({ timeoutMs: r.settings.timeoutMs }, err.copy, r.si, `ferry repair: ${err.reason}`);
      await r.saveCorrupt([...state.corrupt.values()]);
    } else {
      state.unreadable.add(key);
    }
    r.log?.warn({ si: r.si, pass, err: messageOf(err) }, 'repair pass failed; starting another');
    return true;
  };
  return runPasses(
    {
      maxPasses: r.settings.maxPasses,
      lost: state.lost,
      signal: r.signal,
      si: r.si,
      log: r.log,
      retry,
      giveUp: (last) => new FerryError('UPSTREAM_ERROR', `repair gave up after ${r.settings.maxPasses} passes: ${messageOf(last)}`),
    },
    () => onePass(r, state, started),
  );
}

function notEnough(insp: Inspection, k: number, corrupt: number): FerryError {
  const found = insp.good.size;
  const parts = [`${insp.listed.size} share number${insp.listed.size === 1 ? '' : 's'} listed`];
  if (corrupt) parts.push(`${corrupt} corrupt cop${corrupt === 1 ? 'y' : 'ies'}`);
  if (insp.unreachable.length) parts.push(`${insp.unreachable.length} of ${insp.servers.length} servers unreachable`);
  const otherUeb = insp.verdicts.filter((v) => v.otherUeb).length;
  if (!insp.file && otherUeb) parts.push(`${otherUeb} cop${otherUeb === 1 ? 'y has' : 'ies have'} a UEB other than the one the capability names: is it the right capability?`);
  return new FerryError(
    'NOT_ENOUGH_SHARES',
    `not enough shares to repair: found ${found} good share${found === 1 ? '' : 's'} of the ${k} needed (${parts.join(', ')})`,
    { details: { found, needed: k } },
  );
}

async function onePass(r: RepairRun, state: PassState, started: number): Promise<JobResult> {
  const io: GridIo = { timeoutMs: r.settings.timeoutMs, signal: r.signal };
  const all = await r.servers();
  const knownCorrupt = new Map([...state.corrupt].map(([k, c]) => [k, c.reason]));
  const insp = await inspectFile(r.cap, r.si, all, {
    io,
    surveyTimeoutMs: r.settings.surveyTimeoutMs,
    verify: state.full,
    escalate: true,
    knownCorrupt,
    reporter: 'ferry repair',
    verifySettings: { wholeShareMax: r.settings.wholeShareMax, windowBytes: r.settings.windowBytes },
  });
  const corruptListed = insp.corrupt.length;
  const file = insp.file;
  if (!file) throw notEnough(insp, r.cap.k, corruptListed);
  // Copies are bad only relative to a UEB the capability names: remembered once one was found.
  let grew = false;
  for (const c of insp.corrupt) {
    const key = copyKey(c.shnum, c.server);
    if (!state.corrupt.has(key)) {
      state.corrupt.set(key, c);
      grew = true;
    }
  }
  if (grew) await r.saveCorrupt([...state.corrupt.values()]);
  await r.learnt(file);
  const { k, n } = file.ueb;
  if (insp.good.size < k) throw notEnough(insp, k, corruptListed);

  // Placement: servers without any share of this file first.
  const holders = new Set([...insp.listed.values()].flatMap((s) => [...s]));
  const writable = insp.reachable.filter((s) => !state.lost.has(s.id));
  const ordered = [...writable.filter((s) => !holders.has(s.id)), ...writable.filter((s) => holders.has(s.id))];
  const keep = new Map(Object.entries(r.placement ?? {}).map(([s, id]) => [Number(s), id]));
  const plan = placeRepair({ n, writable: ordered.map((s) => s.id), existing: insp.good, occupied: insp.listed, keep });
  const missing = range(n).filter((s) => !insp.good.has(s));
  const compute = [...new Set([...missing, ...plan.push.keys()])].sort((a, b) => a - b);

  const final = copyGraph(insp.good);
  const pushed: number[] = [];
  if (plan.push.size > 0) {
    let lastTick = 0;
    const source = new RegeneratedShares(
      {
        file,
        sources: pickSources(insp, k, state.unreadable),
        compute,
        codec: r.codec,
        io,
        windowBytes: r.settings.windowBytes,
        beforeSegment: r.hooks.beforeSegment ? (i) => r.hooks.beforeSegment!(r.si, i) : undefined,
      },
      insp.roots,
    );
    const out = await pushShares(
      {
        si: r.si,
        layout: file.layout,
        push: plan.push,
        servers: all,
        savePlacement: async (placement) => {
          await r.savePlacement(placement);
          r.placement = placement;
        },
        progress: (segmentsEncoded, pushedBytes, last) => {
          const t = Date.now();
          if (last) return r.progress({ segmentsEncoded, pushedBytes, final: true });
          if (t - lastTick < 250) return;
          lastTick = t;
          return r.progress({ segmentsEncoded, pushedBytes });
        },
        flushBytes: r.settings.flushBytes,
        signal: r.signal,
        abortTimeoutMs: r.settings.timeoutMs,
      },
      source,
    );
    for (const [s, ids] of out.alreadyHave) for (const id of ids) addEdge(final, s, id);
    for (const p of out.pushed) {
      addEdge(final, p.shnum, p.server);
      pushed.push(p.shnum);
    }
  }

  // Leases: every server that now holds a good copy.
  const keepers = new Set([...final.values()].flatMap((s) => [...s]));
  const leases = await renewLeases(io, all.filter((s) => keepers.has(s.id)), r.si);
  const happiness = happinessOf(final);
  const present = range(n).filter((s) => final.has(s));
  const healthy = happiness >= r.happy && present.length === n;
  const repaired = [...new Set(pushed)].sort((a, b) => a - b);
  if (!healthy) {
    const absent = range(n).filter((s) => !final.has(s));
    throw new FerryError(
      'HAPPINESS_NOT_MET',
      `the file is still not healthy after this repair (${repaired.length ? `regenerated share${repaired.length === 1 ? '' : 's'} ${repaired.join(', ')}` : 'nothing could be regenerated'}): ` +
        `happiness ${happiness} < happy ${r.happy}${absent.length ? `, share${absent.length === 1 ? '' : 's'} ${absent.join(', ')} stored nowhere` : ''} ` +
        `(${writable.length} of ${all.length} servers writable)`,
      { details: { happiness, happy: r.happy } },
    );
  }
  return {
    uebHash: uebHash(file.uebBytes).toString('hex'),
    ueb: file.uebBytes.toString('base64'),
    shareMap: shareMapOf(final),
    pushed: repaired,
    preexisting: [...insp.good.keys()].sort((a, b) => a - b),
    happiness,
    repaired,
    corrupt: [...state.corrupt.values()].sort((a, b) => a.shnum - b.shnum || (a.server < b.server ? -1 : 1)),
    leases,
    healthy,
    timings: { encodeMs: Date.now() - started, totalMs: Date.now() - r.createdAt },
  };
}

/** k good copies of distinct share numbers: primary shares first (no decoding), each from its first readable server. */
export function pickSources(insp: Inspection, k: number, unreadable: Set<string>): { copy: ShareCopy; root: Buffer }[] {
  const byShnum = new Map<number, ShareCopy[]>();
  for (const v of insp.verdicts) {
    if (v.status !== 'good' || unreadable.has(copyKey(v.copy.shnum, v.copy.server.id))) continue;
    byShnum.set(v.copy.shnum, [...(byShnum.get(v.copy.shnum) ?? []), v.copy]);
  }
  const order = [...byShnum.keys()].sort((a, b) => a - b);
  return order.slice(0, k).map((s) => ({ copy: byShnum.get(s)![0], root: insp.roots.get(s)! }));
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
