import type { Command } from 'commander';
import type { RepairOutcome, RepairStarted } from '../client/check.js';
import { capArgument, reasonText } from './check-command.js';
import { interruptible } from './interrupt.js';
import { ProgressView } from './progress-bar.js';
import { clientSettings } from './settings.js';
import { intOption } from './usage.js';

interface RepairFlags {
  verify?: boolean;
  happy?: number;
  json?: boolean;
  wait: boolean;
  progress: boolean;
}

const short = (id: string) => (id.length > 12 ? id.slice(0, 12) : id);

export function formatRepairOutcome(o: RepairOutcome): string {
  const r = o.result;
  const out: string[] = [];
  const holders = new Set(Object.values(r.shareMap).flat());
  const present = Object.keys(r.shareMap).length;
  if (r.repaired.length) out.push(`repaired:  regenerated share${r.repaired.length === 1 ? '' : 's'} ${r.repaired.join(', ')}`);
  else out.push('repaired:  nothing to regenerate');
  for (const c of r.corrupt) out.push(`corrupt:   share ${c.shnum} on ${short(c.server)}: ${reasonText(c.reason)} (replaced)`);
  out.push(`now:       ${present} share numbers on ${holders.size} server${holders.size === 1 ? '' : 's'}, happiness ${r.happiness}: ${r.healthy ? 'healthy' : 'NOT HEALTHY'}`);
  out.push(`leases:    renewed on ${r.leases.renewed.length} server${r.leases.renewed.length === 1 ? '' : 's'}${r.leases.failed.length ? `, failed on ${r.leases.failed.length}` : ''}`);
  return `${out.join('\n')}\n`;
}

/** `ferry repair CAP`: queues a repair at the helper and waits for it (progress on a terminal). */
export function registerRepairCommand(program: Command): void {
  program
    .command('repair')
    .description('re-create lost or corrupt shares of a file from the good ones, and renew its leases (through the helper)')
    .argument('<cap>', 'read-cap or verify-cap (only the verify-cap is sent)')
    .option('--verify', 'verify every block of every share first, to find corruption a quick check cannot')
    .option('--happy <h>', "servers of happiness to reach (default: the helper's, within k..n)", intOption(1, 256))
    .option('--no-wait', 'queue the repair and print where to follow it')
    .option('--json', 'print the outcome as JSON')
    .option('--no-progress', 'no progress bar (it is shown only when stderr is a terminal)')
    .action(async (cap: string, flags: RepairFlags, cmd: Command) => {
      capArgument(cap);
      const s = await clientSettings(cmd);
      const { repairFile } = await import('../client/check.js');
      const bar = new ProgressView(process.stderr, flags.progress && flags.wait && Boolean(process.stderr.isTTY), new Set(['repairing']));
      const outcome: RepairOutcome | RepairStarted = await interruptible(
        (signal) =>
          repairFile(cap, {
            helperUrl: s.helperUrl,
            token: s.token,
            verify: flags.verify,
            happy: flags.happy,
            wait: flags.wait,
            signal,
            onProgress: (p) => bar.update({ phase: 'repairing', bytes: p.bytes, total: p.total, state: p.state === 'encoding' ? undefined : p.state }),
          }),
        {
          interrupted: 'interrupted; the repair goes on at the helper (run ferry repair again to follow it)',
          bar,
          isInterruption: (err) => /aborted/.test(err.message),
        },
      );
      if (flags.json) process.stdout.write(`${JSON.stringify(outcome, null, 2)}\n`);
      else if (outcome.state === 'done' && 'result' in outcome) process.stdout.write(formatRepairOutcome(outcome));
      else {
        const started = outcome as RepairStarted;
        process.stdout.write(`repair ${started.created ? 'queued' : 'already ' + started.state}: ${started.statusPath}\n`);
      }
    });
}
