import { Command, CommanderError } from 'commander';
import { registerStorageCommand } from '../../storage/cli.js';

/** Builds the `ferry` program; each area registers its own subcommands. */
export function buildProgram(): Command {
  const program = new Command('ferry')
    .description('Resumable, encrypted, erasure-coded uploads')
    .option('--debug', 'print stack traces on errors')
    .exitOverride()
    .showHelpAfterError();
  registerStorageCommand(program);
  return program;
}

/** Exit codes: 0 ok, 1 failure, 2 usage. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return 0;
      return 2;
    }
    const debug = program.opts<{ debug?: boolean }>().debug;
    if (debug && err instanceof Error) console.error(err.stack);
    else console.error(`ferry: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
