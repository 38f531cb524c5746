import type { Command } from 'commander';
import { parseReadCap } from '../core/capability.js';
import { formatStorageIndex, storageIndexFromKey } from '../core/storage-index.js';
import { formatSize } from '../runtime/size.js';
import { resolveGetOutput } from './get-output.js';
import { interruptible } from './interrupt.js';
import { ProgressView } from './progress-bar.js';
import { clientSettings } from './settings.js';
import { UsageError } from './usage.js';

interface GetFlags {
  output?: string;
  force?: boolean;
  progress: boolean;
}

/** `ferry get CAP [-o FILE|DIR|-]`: download through the helper's gateway. */
export function registerGetCommand(program: Command): void {
  program
    .command('get')
    .description('download a file by its read-cap')
    .argument('<cap>', "read-cap (ferry-chk:...) or cap URL (http(s)://host/uri/ferry-chk:...; the client token goes only to the configured helper)")
    .option('-o, --output <file>', 'where to write the file: FILE, a DIR (saved inside it, named by the storage index), or "-" for stdout (the default when stdout is not a terminal)')
    .option('--force', 'overwrite an existing file')
    .option('--no-progress', 'no progress bar (it is shown only when stderr is a terminal)')
    .addHelpText('after', '\nExamples:\n  ferry get ferry-chk:... -o photo.jpg\n  ferry get ferry-chk:... -o downloads/\n  ferry get https://gateway.example/uri/ferry-chk:... -o photo.jpg\n  ferry get ferry-chk:... | tar x')
    .action(async (cap: string, flags: GetFlags, cmd: Command) => {
      const usage = <T>(check: () => T): T => {
        try {
          return check();
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
      };
      // Imported here: it brings the HTTP client, which `ferry storage` and `ferry --version` must not carry.
      const { gatewayTarget, isCapUrl } = await import('../client/download/gateway-target.js');
      if (!isCapUrl(cap)) usage(() => parseReadCap(cap));
      const s = await clientSettings(cmd, false);
      // A cap URL's gateway may be any origin: the token goes only to the configured helper.
      const target = usage(() => gatewayTarget(cap, s.helperUrl));
      const si = formatStorageIndex(storageIndexFromKey(target.readCap.key));
      const out = await resolveGetOutput({ output: flags.output, force: flags.force, stdoutIsTTY: Boolean(process.stdout.isTTY), defaultName: si });
      const bar = new ProgressView(process.stderr, flags.progress && Boolean(process.stderr.isTTY));
      let resumeNoted = false;
      const { download } = await import('../client/download.js');
      const result = await interruptible(
        (signal) =>
          download(cap, out.kind === 'stdout' ? process.stdout : out.path, {
            helperUrl: s.helperUrl,
            token: s.token || undefined,
            signal,
            onRetry: (err, n, of) => bar.retrying(err, n, of, s.debug),
            onProgress: (p) => {
              if (!resumeNoted && p.resumedFrom) bar.note(`ferry: resuming from ${formatSize(p.resumedFrom)} (${out.kind === 'file' ? `${out.path}.part` : 'stdout'})`);
              resumeNoted = true;
              bar.update({ phase: 'downloading', ...p });
            },
          }),
        { interrupted: `interrupted; run the same command again to resume${out.kind === 'file' ? ` (${out.path}.part is kept)` : ''}`, bar },
      );
      if (out.kind === 'file') {
        const resumed = result.resumedFrom ? `, ${formatSize(result.bytes - result.resumedFrom)} fetched after resuming from ${formatSize(result.resumedFrom)}` : '';
        process.stderr.write(`ferry: saved ${formatSize(result.bytes)} to ${out.path}${resumed}\n`);
      }
    });
}
