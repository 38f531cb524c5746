import type { Command } from 'commander';
import { createLogger } from '../runtime/log.js';
import { resolveStorageConfig, type StorageFlags } from '../storage/config.js';
import { STORAGE_API_PREFIX } from '../storage/protocol.js';
import { startStorageServer } from '../storage/server.js';
import { loadOrCreateGridToken } from '../storage/token.js';

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/** Registers `ferry storage`: runs a storage server until SIGINT/SIGTERM. */
export function registerStorageCommand(program: Command): void {
  program
    .command('storage')
    .description('run a storage server (HTTP API under /storage/v1)')
    .option('--dir <dir>', 'data directory (created if missing)')
    .option('--port <port>', 'TCP port to listen on (0 picks a free one)')
    .option('--host <host>', 'interface to listen on (default 127.0.0.1)')
    .option('--token-file <file>', 'file holding the grid token (default: DIR/grid-token, generated on first start)')
    .option('--reserved-space <size>', 'space to keep free on the disk, e.g. 10G, 512MiB (default 0)')
    .option('--max-share-size <size>', 'largest share accepted (default 64GiB)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (default info)')
    .option('--config <file>', 'JSON config file with the same settings (flags win)')
    .action(async (flags: StorageFlags) => {
      const config = await resolveStorageConfig(flags);
      const logger = createLogger({ name: 'ferry-storage', level: config.logLevel });
      const grid = await loadOrCreateGridToken(config.dir, config.tokenFile);
      if (grid.created) console.log(`ferry storage: generated a grid token in ${grid.file} (mode 0600); clients need it`);
      const server = await startStorageServer({
        dir: config.dir,
        host: config.host,
        port: config.port,
        token: grid.token,
        reservedSpace: config.reservedSpace,
        maxShareSize: config.maxShareSize,
        maxWriteSize: config.maxWriteSize,
        partialIdleMs: config.partialIdleMs,
        defaultLeaseMs: config.defaultLeaseMs,
        sweepIntervalMs: config.sweepIntervalMs,
        logger,
      });
      console.log(`ferry storage: listening on ${server.url}${STORAGE_API_PREFIX} (server id ${server.serverId}, data in ${config.dir})`);
      const signal = await untilSignal();
      console.log(`ferry storage: ${signal}, shutting down`);
      await server.close();
    });
}
