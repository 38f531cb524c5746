import type { Command } from 'commander';
import type { StorageConfig, StorageFlags } from '../storage/config.js';
import { loadOrCreateGridToken } from '../storage/token.js';
import { daemonLogger, listeningLine, logLevelOption, serveUntilSignal, withPortHint } from './daemon.js';
import { tuneHeapForService } from '../runtime/heap.js';
import { UsageError } from './usage.js';

/**
 * Flags over the config file. resolveStorageConfig only reads that file and
 * checks values, so whatever it throws is a usage error (exit 2), as for `ferry helper`.
 */
async function storageConfig(flags: StorageFlags): Promise<StorageConfig> {
  const { resolveStorageConfig } = await import('../storage/config.js');
  try {
    return await resolveStorageConfig(flags);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Registers `ferry storage`: runs a storage server until SIGINT/SIGTERM. */
export function registerStorageCommand(program: Command): void {
  const command = program
    .command('storage')
    .description('run a storage server (HTTPS API under /storage/v1; prints its pinned address)')
    .option('--dir <dir>', 'data directory (created if missing)')
    .option('--port <port>', 'TCP port to listen on (0 picks a free one)')
    .option('--host <host>', 'interface to listen on (default 127.0.0.1)')
    .option('--token-file <file>', 'file holding the grid token (default: DIR/grid-token, generated on first start)')
    .option('--reserved-space <size>', 'space to keep free on the disk, e.g. 10G, 512MiB (default 0)')
    .option('--max-share-size <size>', 'largest share accepted (default 64GiB)')
    .option('--tls-cert <file>', 'serve this certificate (PEM; default: a self-signed one kept in DIR/tls)')
    .option('--tls-key <file>', 'the key of --tls-cert (PEM)')
    .option('--no-tls', 'serve plain http (loopback binds only)');
  logLevelOption(command, 'info, or FERRY_LOG_LEVEL')
    .option('--config <file>', 'JSON config file with the same settings (flags win)')
    .action(async (flags: StorageFlags) => {
      tuneHeapForService();
      const config = await storageConfig(flags);
      const grid = await loadOrCreateGridToken(config.dir, config.tokenFile);
      if (grid.created) console.log(`ferry storage: generated a grid token in ${grid.file} (mode 0600); clients need it`);
      const [{ listenerIdentity }, { startStorageServer }] = await Promise.all([import('../runtime/tls/setting.js'), import('../storage/server.js')]);
      const tls = await listenerIdentity({ setting: config.tls, defaultOn: true, host: config.host, dir: config.dir, allowInsecureHttp: config.allowInsecureHttp, what: 'the storage server' });
      const server = await withPortHint('storage', config.host, config.port, () =>
        startStorageServer({
          tls,
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
          logger: daemonLogger('storage', config.logLevel),
        }),
      );
      await serveUntilSignal({
        name: 'storage',
        // The address is what a helper's storageServers entry takes, pin included.
        banner: [
          listeningLine('storage', server.url, `server id ${server.serverId}, data in ${config.dir}`),
          ...(tls ? [`  key pin: ${tls.pin} (curl --pinnedpubkey ${tls.curlPin}); certificate ${tls.certFile}`] : []),
        ].join('\n'),
        close: () => server.close(),
      });
    });
}
