import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Command } from 'commander';
import { base32Encode } from '../core/base32.js';
import { writeFileDurable } from '../runtime/fs/durable.js';

/** 32 random bytes in base32: the same kind of token `ferry grid` generates for each role. */
export function newToken(): string {
  return base32Encode(randomBytes(32));
}

/**
 * `ferry token new [--file F]`: mints a token for any role — a client token
 * (the helper's `clientTokens`), the admin token, or the grid token that
 * every storage server reads with `--token-file`. On stdout, or into a new
 * file (0600, never replacing one: a grid token in use must not change by
 * accident).
 */
export function registerTokenCommand(program: Command): void {
  const token = program.command('token').description('mint tokens (client, admin, grid)');
  token
    .command('new')
    .description('print a new random token, or write it to a new file (mode 0600)')
    .option('--file <file>', 'write it to this file instead (refused if the file exists)')
    .addHelpText(
      'after',
      `
Examples:
  ferry token new                                 # a client token: add it to "clientTokens", then reload the helper
  ferry token new --file /etc/ferry/grid-token    # the grid token: every storage server's --token-file`,
    )
    .action(async (flags: { file?: string }) => {
      const value = newToken();
      if (flags.file === undefined) {
        console.log(value);
        return;
      }
      const file = path.resolve(flags.file);
      try {
        await writeFileDurable(file, `${value}\n`, { mode: 0o600, exclusive: true });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw new Error(`${file} exists; a token in use is not replaced (remove the file first to rotate it)`);
        if (code === 'ENOENT') throw new Error(`${path.dirname(file)}: no such directory`);
        throw err;
      }
      console.error(`ferry token: wrote a new token to ${file} (mode 0600)`);
    });
}
