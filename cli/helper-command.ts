import path from 'node:path';
import type { Command } from 'commander';
import type { LogLevel } from '../runtime/log.js';
import type { HelperConfig } from '../helper/config.js';
import { daemonLogger, listeningLine, logLevelOption, readConfigFile, serveUntilSignal, withPortHint } from './daemon.js';
import { tuneHeapForService } from '../runtime/heap.js';
import { intOption, UsageError } from './usage.js';

interface HelperFlags {
  config: string;
  port?: number;
  host?: string;
  dataDir?: string;
  logLevel?: LogLevel;
}

/** Reads the JSON config; flags override single keys; a relative dataDir or tls file is relative to the file (or, as a flag, to the cwd). */
export async function loadHelperConfig(flags: HelperFlags): Promise<HelperConfig> {
  const { parseHelperConfig } = await import('../helper/config.js');
  const config = await readConfigFile(flags.config, {
    schema: { parse: parseHelperConfig },
    label: 'helper',
    pathKeys: ['dataDir'],
    overrides: { port: flags.port, host: flags.host, dataDir: flags.dataDir === undefined ? undefined : path.resolve(flags.dataDir) },
  });
  if (typeof config.tls !== 'object') return config;
  const base = path.dirname(path.resolve(flags.config));
  return { ...config, tls: { cert: path.resolve(base, config.tls.cert), key: path.resolve(base, config.tls.key) } };
}

/** `ferry helper --config FILE`: runs the upload helper until SIGINT/SIGTERM. */
export function registerHelperCommand(program: Command): void {
  const command = program
    .command('helper')
    .description('run the upload helper (client API under /helper/v1)')
    .requiredOption('--config <file>', 'JSON config file (see docs/operations.md, "Helper")')
    .option('--port <port>', 'TCP port (overrides "port"; 0 picks a free one)', intOption(0, 65535))
    .option('--host <host>', 'interface to listen on (overrides "host")')
    .option('--data-dir <dir>', 'data directory (overrides "dataDir")');
  logLevelOption(command, 'info, or FERRY_LOG_LEVEL').action(async (flags: HelperFlags) => {
    tuneHeapForService();
    const config = await loadHelperConfig(flags);
    const { reloadOnHangup, startHelper, unreachableHappiness } = await import('../helper/start.js');
    const never = unreachableHappiness(config);
    if (never) throw new UsageError(`${flags.config}: ${never}`);
    const helper = await withPortHint('helper', config.host, config.adminToken ? `${config.port} (or the admin port ${config.admin.port} on ${config.admin.host})` : config.port, () => startHelper(config, { log: daemonLogger('helper', flags.logLevel) }));
    // SIGHUP (`systemctl reload`): client tokens and storage servers from the file again, without a restart.
    const stopReloading = reloadOnHangup(helper, () => loadHelperConfig(flags));
    await serveUntilSignal({
      name: 'helper',
      banner: listeningLine('helper', `${helper.url}/helper/v1`, `data in ${config.dataDir}, ${config.storageServers.length} storage servers`),
      shutdownNote: 'unfinished jobs resume at the next start',
      close: async () => {
        stopReloading();
        await helper.close();
      },
    });
  });
}
