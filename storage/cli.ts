import type { Command } from 'commander';

/** Placeholder until the storage server lands: registers `ferry storage`. */
export function registerStorageCommand(program: Command): void {
  program.command('storage').description('run a storage server').action(() => {
    throw new Error('not implemented yet');
  });
}
