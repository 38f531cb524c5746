import type { Command } from 'commander';
import { toVerifyCap } from '../core/capability.js';
import { FerryError } from '../core/errors.js';
import { formatSize } from '../runtime/size.js';
import type { CheckReport } from '../client/check.js';
import { interruptible } from './interrupt.js';
import { clientSettings } from './settings.js';
import { intOption, UsageError } from './usage.js';

const short = (id: string) => (id.length > 12 ? id.slice(0, 12) : id);

/** A reason without the share number the line already names. */
export const reasonText = (reason: string) => reason.replace(/^share \d+:? /, '');

/** Parses a capability argument: a bad one is a usage error (exit 2). */
export function capArgument(cap: string): void {
  try {
    toVerifyCap(cap);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function formatCheckReport(r: CheckReport): string {
  const out: string[] = [];
  const serverName = (id: string) => {
    const s = r.servers[id];
    return s ? `${short(id)} (${s.url})` : short(id);
  };
  out.push(`file:      ${r.verifyCap}`);
  out.push(`size:      ${formatSize(r.size)}, k=${r.k} n=${r.n}, happy ${r.happy}`);
  out.push(`verified:  ${r.verified === 'full' ? 'every block of every share' : 'headers, UEBs and hash chains (--verify checks every block)'}`);
  const holders = new Set(Object.values(r.shares).flat());
  out.push(`shares:    ${r.goodShares} of ${r.n} good, on ${holders.size} server${holders.size === 1 ? '' : 's'}, happiness ${r.happiness}`);
  out.push(
    `health:    ${
      r.healthy ? 'healthy' : r.inconsistent ? 'NOT HEALTHY, INCONSISTENT (the shares decode to other bytes than the file names)' : r.recoverable ? 'NOT HEALTHY (recoverable: run ferry repair)' : `NOT HEALTHY, NOT RECOVERABLE (${r.goodShares} of the ${r.k} shares needed)`
    }`,
  );
  for (const [shnum, ids] of Object.entries(r.shares)) out.push(`  share ${shnum.padStart(3)}  ${ids.map(serverName).join(', ')}`);
  if (r.warning) out.push(`warning:   ${r.warning}`);
  if (r.inconsistent) out.push(`inconsistent: ${r.inconsistent}`);
  if (r.missing.length) out.push(`missing:   share${r.missing.length === 1 ? '' : 's'} ${r.missing.join(', ')}`);
  for (const c of r.corrupt) out.push(`corrupt:   share ${c.shnum} on ${serverName(c.server)}: ${reasonText(c.reason)}${c.reported ? ' (reported to the server)' : ''}`);
  for (const [id, s] of Object.entries(r.servers)) {
    if (!s.reachable) out.push(`unreachable: ${s.url}${id !== s.url ? ` (${short(id)})` : ''}: ${s.error ?? 'no answer'}`);
    else if (s.unreadable.length) out.push(`unreadable: share${s.unreadable.length === 1 ? '' : 's'} ${s.unreadable.join(', ')} on ${serverName(id)} (no answer in time)`);
  }
  return `${out.join('\n')}\n`;
}

/** `ferry check CAP [--verify] [--json]`: exit 0 when the file is healthy, 1 when not. */
export function registerCheckCommand(program: Command): void {
  program
    .command('check')
    .description('check a file: which shares exist on which servers, and whether it is healthy (exit 1 if not)')
    .argument('<cap>', 'read-cap or verify-cap (only the verify-cap is sent)')
    .option('--verify', 'download and verify every block of every share (slow); corrupt shares are reported to their servers')
    .option('--happy <h>', "servers of happiness the file must reach (default: the helper's, within k..n)", intOption(1, 256))
    .option('--json', 'print the report as JSON')
    .action(async (cap: string, flags: { verify?: boolean; happy?: number; json?: boolean }, cmd: Command) => {
      capArgument(cap);
      const s = await clientSettings(cmd);
      const { checkFile } = await import('../client/check.js');
      const report = await interruptible((signal) => checkFile(cap, { helperUrl: s.helperUrl, token: s.token, verify: flags.verify, happy: flags.happy, signal }), {
        interrupted: 'interrupted',
      });
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatCheckReport(report));
      if (!report.healthy) {
        if (report.inconsistent) throw new FerryError('INTEGRITY_ERROR', `the file's shares are inconsistent and no repair can fix them: ${report.inconsistent}`);
        if (!report.recoverable) {
          throw new FerryError('NOT_ENOUGH_SHARES', `the file cannot be recovered: ${report.goodShares} good share${report.goodShares === 1 ? '' : 's'} of the ${report.k} needed`);
        }
        const why: string[] = [];
        if (report.missing.length) why.push(`share${report.missing.length === 1 ? '' : 's'} ${report.missing.join(', ')} without a good copy`);
        if (report.happiness < report.happy) why.push(`happiness ${report.happiness} < happy ${report.happy}`);
        throw new FerryError('HAPPINESS_NOT_MET', `the file is not healthy (${why.join('; ')}); run ferry repair to fix it`);
      }
    });
}
