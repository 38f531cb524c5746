/** The answer of POST /helper/v1/check-file (docs/protocol.md, "Check and repair"). */
import { formatVerifyCap } from '../../core/capability.js';
import type { ServerHealth } from '../grid/directory.js';
import { shareMapOf } from '../grid/grid.js';
import type { CheckReport, ServerReport } from '../protocol.js';
import { happinessOf } from '../push/happiness.js';
import type { Inspection } from './inspect.js';

/** `inconsistent`: why the good shares decode to ciphertext the UEB does not name (a verifying check's decode). */
export function buildCheckReport(insp: Inspection, happy: number, health: ServerHealth[], inconsistent?: string): CheckReport {
  const { cap } = insp;
  const n = cap.n;
  const servers: Record<string, ServerReport> = {};
  for (const s of insp.reachable) servers[s.id] = { url: s.url, reachable: true, shares: [], corrupt: [], unreadable: [] };
  for (const u of insp.unreachable) servers[u.server.id] = { url: u.server.url, reachable: false, shares: [], corrupt: [], unreadable: [], error: u.error };
  for (const h of health) {
    if (h.id === undefined && !Object.values(servers).some((s) => s.url === h.url)) {
      servers[h.url] = { url: h.url, reachable: false, shares: [], corrupt: [], unreadable: [], error: h.lastError ?? 'never answered' };
    }
  }
  for (const v of insp.verdicts) {
    const entry = servers[v.copy.server.id];
    if (!entry) continue;
    if (v.status === 'good') entry.shares.push(v.copy.shnum);
    else if (v.status === 'corrupt') entry.corrupt.push(v.copy.shnum);
    else if (v.status === 'transient') entry.unreadable.push(v.copy.shnum);
  }
  const happiness = happinessOf(insp.good);
  const missing = Array.from({ length: n }, (_, i) => i).filter((s) => !insp.good.has(s));
  return {
    storageIndex: insp.si,
    verifyCap: formatVerifyCap(cap),
    k: cap.k,
    n,
    size: cap.size,
    happy,
    verified: insp.depth,
    shares: shareMapOf(insp.good),
    goodShares: insp.good.size,
    happiness,
    healthy: happiness >= happy && missing.length === 0 && inconsistent === undefined,
    recoverable: insp.good.size >= cap.k && inconsistent === undefined,
    missing,
    corrupt: insp.verdicts
      .filter((v) => v.status === 'corrupt')
      .map((v) => ({ shnum: v.copy.shnum, server: v.copy.server.id, reason: v.reason ?? 'failed verification', reported: v.reported ?? false })),
    servers,
    ...(inconsistent === undefined ? {} : { inconsistent }),
    ...(!insp.file && insp.verdicts.some((v) => v.otherUeb)
      ? { warning: 'no copy has the UEB this capability names: is it the right capability? (no server was told its shares are corrupt)' }
      : {}),
  };
}
