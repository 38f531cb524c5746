import path from 'node:path';
import type { Command } from 'commander';
import type { LogLevel } from '../runtime/log.js';
import { CLIENT_FILE, DEFAULT_HOME } from '../client/config.js';
import { daemonLogger, logLevelOption, serveUntilSignal } from './daemon.js';
import { tuneHeapForService } from '../runtime/heap.js';
import { intOption, type GlobalFlags } from './usage.js';

interface GridFlags {
  port: number;
  adminPort?: number;
  servers: number;
  host: string;
  tokenFile?: string;
  logLevel?: LogLevel;
}

/** `ferry grid` (and `npm start`): a helper and N storage servers on loopback, until Ctrl-C. */
export function registerGridCommand(program: Command): void {
  const command = program
    .command('grid')
    .description('run a local grid: a helper and storage servers on 127.0.0.1, data under --home (default ./.ferry)')
    .option('--port <port>', 'helper port (0 picks a free one)', intOption(0, 65535), 3456)
    .option('--admin-port <port>', 'admin page port (default: --port + 1; 0 picks a free one)', intOption(0, 65535))
    .option('--servers <n>', 'number of storage servers; fewer than 10 get defaults they can meet (e.g. 3: k=1 happy=3 n=3)', intOption(1, 256), 10)
    .option('--host <host>', 'interface for all servers', '127.0.0.1')
    .option('--token-file <file>', 'grid token of the storage servers, as for `ferry storage` (default: HOME/grid-token, generated on first start)');
  logLevelOption(command, 'warn').action(async (flags: GridFlags, cmd: Command) => {
    tuneHeapForService();
    const g = cmd.optsWithGlobals<GlobalFlags>();
    // Quieter than a lone daemon: the grid shares the terminal with its user.
    const level = flags.logLevel ?? (process.env.FERRY_LOG_LEVEL ? undefined : 'warn');
    const home = path.resolve(g.home ?? process.env.FERRY_HOME ?? DEFAULT_HOME);
    const { startLocalGrid } = await import('./local-grid.js');
    const grid = await startLocalGrid({ home, port: flags.port, adminPort: flags.adminPort, servers: flags.servers, host: flags.host, tokenFile: flags.tokenFile === undefined ? undefined : path.resolve(flags.tokenFile), log: daemonLogger('grid', level) });
    const here = path.resolve(DEFAULT_HOME) === home;
    const d = grid.helper.helper.config.defaults;
    await serveUntilSignal({
      name: 'grid',
      banner: [
        `ferry grid: helper ${grid.helperUrl} with ${grid.storage.length} storage servers (k=${d.k} happy=${d.happy} n=${d.n}), data in ${home}`,
        `  admin:  ${grid.adminUrl ?? '(off)'} (token in ${grid.adminTokenFile})`,
        `  client: ${path.join(home, CLIENT_FILE)}`,
        `Put a file (in another terminal${here ? ', from this directory' : ''}):`,
        `  npx ferry put FILE${here ? '' : ` --home ${home}`}`,
        `  npx ferry get CAP -o COPY${here ? '' : ` --home ${home}`}`,
        'Ctrl-C stops the grid; unfinished uploads resume at the next start.',
      ].join('\n'),
      close: () => grid.close(),
    });
  });
}
