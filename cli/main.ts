import { Command, CommanderError } from 'commander';
import { registerStorageCommand } from './storage-command.js';
import { registerCheckCommand } from './check-command.js';
import { registerGetCommand } from './get-command.js';
import { registerGridCommand } from './grid-command.js';
import { registerHelperCommand } from './helper-command.js';
import { registerPutCommand } from './put-command.js';
import { registerRepairCommand } from './repair-command.js';
import { registerStatusCommand } from './status-command.js';
import { registerTokenCommand } from './token-command.js';
import { UsageError } from './usage.js';
import { packageVersion } from '../helper/admin/package-root.js';

/**
 * Builds the `ferry` program; each area registers its own subcommands. A command
 * imports its heavy modules (helper, storage server, client transfers) when it
 * runs, so `--help`, usage errors and the client commands start without them.
 */
export function buildProgram(): Command {
  const program = new Command('ferry')
    .description('Resumable, encrypted, erasure-coded uploads')
    .option('--home <dir>', 'client home: a dir with client.json (default: FERRY_HOME, or ./.ferry if it has one)')
    .option('--helper <url>', 'helper URL (overrides client.json)')
    .option('--token <token>', 'client token (overrides client.json; or set FERRY_TOKEN)')
    .option('--state-dir <dir>', 'private client state: convergence secret and transfer journal (default HOME/client-state)')
    .option('--debug', 'print stack traces on errors, and retries as they happen')
    .version(packageVersion(), '-V, --version', 'print the version')
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      'after',
      '\nExamples:\n  ferry grid                          a local grid (helper + 10 storage servers) in ./.ferry\n' +
        '  ferry put FILE                      upload; prints the read-cap\n  ferry get CAP -o FILE               download\n' +
        '  ferry status                        helper, servers and unfinished transfers\nRun ferry COMMAND --help for a command\'s options.',
    )
    .exitOverride()
    .showHelpAfterError('(add --help for usage)');
  registerPutCommand(program);
  registerGetCommand(program);
  registerStatusCommand(program);
  registerCheckCommand(program);
  registerRepairCommand(program);
  registerHelperCommand(program);
  registerGridCommand(program);
  registerStorageCommand(program);
  registerTokenCommand(program);
  return program;
}

/** Exit codes: 0 ok, 1 failure, 2 usage. Errors are one line on stderr; the stack only with --debug. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return 0;
      return 2; // commander already printed the message
    }
    const debug = program.opts<{ debug?: boolean }>().debug || argv.includes('--debug');
    if (debug && err instanceof Error) console.error(err.stack);
    else console.error(`ferry: ${err instanceof Error ? err.message : String(err)}`);
    return err instanceof UsageError ? 2 : 1;
  }
}
