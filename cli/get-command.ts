import type { Command } from 'commander';
import { parseReadCap } from '../core/capability.js';
import { download } from '../client/download.js';
import { interruptible } from './interrupt.js';
import { ProgressView } from './progress-bar.js';
import { clientSettings } from './settings.js';
import { UsageError } from './usage.js';

/** `ferry get CAP [-o FILE|-]`: download through the helper's gateway (stdout by default). */
export function registerGetCommand(program: Command): void {
  program
    .command('get')
    .description('download a file by its read-cap')
    .argument('<cap>', 'read-cap (ferry-chk:...)')
    .option('-o, --output <file>', 'where to write the file ("-" = stdout, the default)')
    .option('--no-progress', 'no progress bar (it is shown only when stderr is a terminal)')
    .action(async (cap: string, flags: { output?: string; progress: boolean }, cmd: Command) => {
      try {
        parseReadCap(cap);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const s = await clientSettings(cmd, false);
      const toStdout = flags.output === undefined || flags.output === '-';
      const bar = new ProgressView(process.stderr, flags.progress && Boolean(process.stderr.isTTY));
      await interruptible(
        (signal) =>
          download(cap, toStdout ? process.stdout : flags.output!, {
            helperUrl: s.helperUrl,
            token: s.token || undefined,
            signal,
            onProgress: (p) => bar.update({ phase: 'downloading', ...p }),
          }),
        { interrupted: 'interrupted', bar },
      );
    });
}
