/**
 * The state of one file on the grid, as check and repair both need it:
 * survey (who lists which share), the UEB, and a verdict for every listed
 * copy (good, corrupt, missing, or transient). Newly found corrupt copies are
 * reported to their servers.
 */
import type { VerifyCap } from '../../core/capability.js';
import { addEdge, copyKey, messageOf, type GridServer, type ShareCopy, type ShareGraph } from '../grid/grid.js';
import { mapLimit, reportCorruption, type GridIo } from '../grid/io.js';
import { surveyShares } from '../grid/locate.js';
import { findFileShape, type FileShape } from '../grid/open-file.js';
import { classifyShareFailure, type ShareFailure } from '../grid/share-failure.js';
import type { CorruptShare } from '../jobs/job.js';
import { checkShareCheap, checkShareFull, DEFAULT_VERIFY_SETTINGS, type VerifySettings } from './verify-shares.js';

export type CopyStatus = 'good' | Exclude<ShareFailure, 'aborted'>;

export interface CopyVerdict {
  copy: ShareCopy;
  status: CopyStatus;
  /** Why it is not good. */
  reason?: string;
  /** Verified block-tree root (good copies). */
  blockRoot?: Buffer;
  /** How deeply a good copy was checked. */
  depth?: 'cheap' | 'full';
  /** A corrupt copy this inspection reported to its server. */
  reported?: boolean;
  /** The copy holds a well-formed UEB of another file (set while no copy gave this file's). */
  otherUeb?: boolean;
}

export interface Inspection {
  si: string;
  cap: VerifyCap;
  /** Servers asked. */
  servers: GridServer[];
  reachable: GridServer[];
  unreachable: { server: GridServer; error: string }[];
  /** What the servers list, good or not. */
  listed: ShareGraph;
  file: FileShape | undefined;
  verdicts: CopyVerdict[];
  /** shnum -> servers holding a good copy. */
  good: ShareGraph;
  /** shnum -> its verified block-tree root. */
  roots: Map<number, Buffer>;
  corrupt: CorruptShare[];
  /** 'full' when every good copy had every byte checked. */
  depth: 'cheap' | 'full';
}

export interface InspectOptions {
  io: GridIo;
  surveyTimeoutMs: number;
  /** Check every byte of every copy. */
  verify: boolean;
  /** Check every byte of every copy once any copy turns out bad (repair). */
  escalate?: boolean;
  /** Copies already known to be bad (copy key -> reason): counted corrupt, not read, not reported again. */
  knownCorrupt?: ReadonlyMap<string, string>;
  /** Report newly found bad copies to their servers (default true). */
  report?: boolean;
  /** Who reports, at the start of the reason (default "ferry check"). */
  reporter?: string;
  verifySettings?: VerifySettings;
  /** Copies checked at once (default 8 for the cheap check, 4 for full ones: each holds up to 8 MiB). */
  concurrency?: number;
}

export async function inspectFile(cap: VerifyCap, si: string, servers: GridServer[], o: InspectOptions): Promise<Inspection> {
  const survey = await surveyShares(servers, si, { ...o.io, timeoutMs: o.surveyTimeoutMs, signal: undefined });
  const known = o.knownCorrupt ?? new Map<string, string>();
  const verdicts = new Map<string, CopyVerdict>();
  const keyOf = (c: ShareCopy) => copyKey(c.shnum, c.server.id);
  for (const c of survey.copies) {
    const reason = known.get(keyOf(c));
    if (reason !== undefined) verdicts.set(keyOf(c), { copy: c, status: 'corrupt', reason });
  }
  const candidates = survey.copies.filter((c) => !verdicts.has(keyOf(c)));
  // Primary shares first: a file usually has them, and order makes runs repeatable.
  const learnt = await findFileShape(o.io, cap, si, candidates);
  for (const f of learnt.failures) verdicts.set(keyOf(f.copy), { copy: f.copy, status: f.kind, reason: f.reason, otherUeb: f.otherUeb });
  const file = learnt.file;
  const settings = o.verifySettings ?? DEFAULT_VERIFY_SETTINGS;
  const check = async (c: ShareCopy, full: boolean): Promise<CopyVerdict> => {
    try {
      const blockRoot = full ? await checkShareFull(o.io, file!, c, settings) : await checkShareCheap(o.io, file!, c);
      return { copy: c, status: 'good', blockRoot, depth: full ? 'full' : 'cheap' };
    } catch (err) {
      const kind = classifyShareFailure(err);
      if (kind === 'aborted') throw err;
      return { copy: c, status: kind, reason: messageOf(err) };
    }
  };
  if (file) {
    const todo = candidates.filter((c) => !verdicts.has(keyOf(c)));
    const limit = (full: boolean) => o.concurrency ?? (full ? 4 : 8);
    for (const v of await mapLimit(todo, limit(o.verify), (c) => check(c, o.verify))) verdicts.set(keyOf(v.copy), v);
    const bad = [...verdicts.values()].some((v) => v.status === 'corrupt' && !known.has(keyOf(v.copy)));
    if (!o.verify && o.escalate && bad) {
      const cheap = [...verdicts.values()].filter((v) => v.status === 'good' && v.depth === 'cheap').map((v) => v.copy);
      for (const v of await mapLimit(cheap, limit(true), (c) => check(c, true))) verdicts.set(keyOf(v.copy), v);
    }
  }
  const list = survey.copies.map((c) => verdicts.get(keyOf(c))!).filter((v) => v !== undefined);
  // Without a copy whose UEB matches the capability, the capability may be the wrong one: accuse no server.
  if (o.report !== false && file) {
    await Promise.all(
      list
        .filter((v) => v.status === 'corrupt' && !known.has(keyOf(v.copy)))
        .map(async (v) => {
          v.reported = await reportCorruption(o.io, v.copy, si, `${o.reporter ?? 'ferry check'}: ${v.reason ?? 'failed verification'}`);
        }),
    );
  }
  const good: ShareGraph = new Map();
  const roots = new Map<number, Buffer>();
  for (const v of list) {
    if (v.status !== 'good') continue;
    addEdge(good, v.copy.shnum, v.copy.server.id);
    roots.set(v.copy.shnum, v.blockRoot!);
  }
  const corrupt = list.filter((v) => v.status === 'corrupt').map((v) => ({ shnum: v.copy.shnum, server: v.copy.server.id, reason: v.reason ?? 'failed verification' }));
  const goodOnes = list.filter((v) => v.status === 'good');
  return {
    si,
    cap,
    servers,
    reachable: survey.reachable,
    unreachable: survey.unreachable,
    listed: survey.existing,
    file,
    verdicts: list,
    good,
    roots,
    corrupt,
    depth: o.verify || (goodOnes.length > 0 && goodOnes.every((v) => v.depth === 'full')) ? 'full' : 'cheap',
  };
}
