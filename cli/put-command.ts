import { Option, type Command } from 'commander';
import { formatSize } from '../runtime/size.js';
import { interruptible } from './interrupt.js';
import { ProgressView } from './progress-bar.js';
import { clientSettings } from './settings.js';
import { durationOption, intOption, sizeOption } from './usage.js';

interface PutFlags {
  k?: number;
  n?: number;
  happy?: number;
  randomKey?: boolean;
  json?: boolean;
  progress: boolean;
  stallTimeout?: number;
  segmentSize?: number;
  chunkSize?: number;
}

/** `ferry put FILE`: the read-cap alone on stdout (or the whole result with --json). */
export function registerPutCommand(program: Command): void {
  program
    .command('put')
    .description('upload a file through the helper and print its read-cap')
    .argument('<file>', 'file to upload')
    .option('--k <k>', 'shares needed to read the file (default: the helper\'s, usually 3)', intOption(1, 256))
    .option('--n <n>', 'shares in total (default: the helper\'s, usually 10)', intOption(1, 256))
    .option('--happy <h>', 'servers that must hold shares for success (default: the helper\'s, usually 7)', intOption(1, 256))
    .option('--random-key', 'encrypt with a random key instead of the convergent one (no deduplication)')
    .option('--json', 'print the result as JSON (cap, verifyCap, storageIndex, outcome, hashed, sentBytes, ...)')
    .option('--no-progress', 'no progress bar (it is shown only when stderr is a terminal)')
    .option('--stall-timeout <duration>', 'cut and retry a transfer idle this long, e.g. 30s, 2m (a bare number is seconds; default 30s)', durationOption)
    .addOption(new Option('--segment-size <size>', 'maximum segment size (enters the key: changes the cap)').argParser(sizeOption).hideHelp())
    .addOption(new Option('--chunk-size <size>', 'bytes per tus PATCH').argParser(sizeOption).hideHelp())
    .addHelpText('after', '\nExamples:\n  ferry put photo.jpg                 prints the read-cap\n  ferry put big.iso --json            the cap and what happened, as JSON\n  ferry put f --helper http://host:3456 --token T')
    .action(async (file: string, flags: PutFlags, cmd: Command) => {
      const s = await clientSettings(cmd);
      const { upload } = await import('../client/upload.js');
      const { tuneUploadProcess } = await import('../client/upload-process.js');
      await tuneUploadProcess(); // bounds the client's peak RSS: see there
      const bar = new ProgressView(process.stderr, flags.progress && Boolean(process.stderr.isTTY));
      const result = await interruptible(
        (signal) =>
          upload(file, {
            helperUrl: s.helperUrl,
            token: s.token,
            stateDir: s.stateDir,
            k: flags.k,
            n: flags.n,
            happy: flags.happy,
            maxSegmentSize: flags.segmentSize,
            chunkSize: flags.chunkSize,
            stallTimeoutMs: flags.stallTimeout,
            randomKey: flags.randomKey,
            signal,
            onProgress: (p) => bar.update(p),
            onJobError: (lastError, attempts, nextAttemptAt) => {
              const when = nextAttemptAt === undefined ? '' : ` in ${Math.max(1, Math.round((nextAttemptAt - Date.now()) / 1000))} s`;
              bar.note(`ferry: the helper's attempt ${attempts} failed (it retries${when}): ${lastError}`);
            },
            onResume: (offset, size) => bar.note(`ferry: resuming from ${formatSize(offset)} of ${formatSize(size)}`),
            onRetry: (err, n, of) => bar.retrying(err, n, of, s.debug),
          }),
        { interrupted: `interrupted; run the same command again to resume (${file})`, bar },
      );
      if (result.outcome === 'already-present') process.stderr.write('ferry: already stored: nothing sent\n');
      process.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : `${result.cap}\n`);
    });
}
