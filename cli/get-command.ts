import type { Command } from 'commander';
import { parseReadCap } from '../core/capability.js';
import { download } from '../client/download.js';
import { gatewayTarget, isCapUrl } from '../client/download/gateway-target.js';
import { interruptible } from './interrupt.js';
import { ProgressView } from './progress-bar.js';
import { clientSettings } from './settings.js';
import { UsageError } from './usage.js';

/** `ferry get CAP [-o FILE|-]`: download through the helper's gateway (stdout by default). */
export function registerGetCommand(program: Command): void {
  program
    .command('get')
    .description('download a file by its read-cap')
    .argument('<cap>', "read-cap (ferry-chk:...) or cap URL (http(s)://host/uri/ferry-chk:...; the client token goes only to the configured helper)")
    .option('-o, --output <file>', 'where to write the file ("-" = stdout, the default)')
    .option('--no-progress', 'no progress bar (it is shown only when stderr is a terminal)')
    .action(async (cap: string, flags: { output?: string; progress: boolean }, cmd: Command) => {
      const usage = (check: () => unknown) => {
        try {
          check();
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
      };
      if (!isCapUrl(cap)) usage(() => parseReadCap(cap));
      const s = await clientSettings(cmd, false);
      usage(() => gatewayTarget(cap, s.helperUrl)); // a cap URL's gateway may be any origin
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
