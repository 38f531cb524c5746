/**
 * Which shares of a file exist where: every configured storage server is
 * asked for its list (in parallel, each bounded by a timeout), and the UEB is
 * learnt from the first copy whose UEB hashes to the capability's.
 */
import type { VerifyCap } from '../../core/capability.js';
import type { GridServer } from '../grid/grid.js';
import { surveyShares } from '../grid/grid.js';
import type { ShareGraph } from '../push/happiness.js';
import { classify, messageOf, type FailureKind, type IoSettings, type ShareCopy } from './storage-io.js';
import { CapabilityMismatch, readFileShape, type FileShape } from './verify-shares.js';

export interface FileSurvey {
  /** shnum -> ids of the servers that list it (complete shares only). */
  listed: ShareGraph;
  /** Every listed copy, by share number then in configured server order. */
  copies: ShareCopy[];
  reachable: GridServer[];
  unreachable: { server: GridServer; error: string }[];
}

export async function surveyFile(servers: GridServer[], si: string, timeoutMs: number): Promise<FileSurvey> {
  const s = await surveyShares(servers, si, timeoutMs);
  const copies: ShareCopy[] = [];
  for (const shnum of [...s.existing.keys()].sort((a, b) => a - b)) {
    for (const server of s.reachable) if (s.existing.get(shnum)!.has(server.id)) copies.push({ shnum, server });
  }
  return { listed: s.existing, copies, reachable: s.reachable, unreachable: s.unreachable };
}

export interface LearnOutcome {
  file: FileShape | undefined;
  /** Copies that failed to give the UEB, with why (corrupt ones are bad; the others unknown). */
  failures: { copy: ShareCopy; kind: FailureKind; reason: string }[];
}

/**
 * The file's UEB (and so its layout) from the first copy that has one
 * hashing to the capability's. A UEB that hashes right but disagrees with the
 * capability's k, n or size means the capability is wrong: that is thrown.
 */
export async function learnFile(io: IoSettings, cap: VerifyCap, si: string, copies: ShareCopy[]): Promise<LearnOutcome> {
  const failures: LearnOutcome['failures'] = [];
  // Primary shares first: a file usually has them, and order makes runs repeatable.
  for (const c of copies) {
    try {
      return { file: await readFileShape(io, cap, si, c), failures };
    } catch (err) {
      if (err instanceof CapabilityMismatch) throw err;
      const kind = classify(err);
      if (kind === 'aborted') throw err;
      failures.push({ copy: c, kind, reason: messageOf(err) });
    }
  }
  return { file: undefined, failures };
}
