import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { base32Encode } from '../core/base32.js';
import { unlinkDurable, writeFileDurable } from '../runtime/fs/durable.js';
import { ensurePrivateDir, readOrCreateSecretFile } from '../runtime/fs/secret-file.js';
import { silentLogger, type Logger } from '../runtime/log.js';
import { loadOrCreateIdentity } from '../runtime/tls/identity.js';
import { parseHelperConfig, type HelperConfig, type HelperConfigInput } from '../helper/config.js';
import { startHelper, type RunningHelper } from '../helper/start.js';
import { startStorageServer, type RunningStorageServer, type StorageServerOptions } from '../storage/server.js';
import { loadOrCreateGridToken } from '../storage/token.js';
import { CLIENT_FILE, readClientFile } from '../client/config.js';
import { DEFAULT_HAPPY, DEFAULT_K, DEFAULT_N } from '../core/params.js';
import { GRID_FILE, processAlive, readGridFile, type GridFile } from './grid-file.js';

/**
 * `ferry grid`: a helper and N storage servers in one process, on loopback,
 * with everything under one directory:
 *
 *   DIR/client.json    helper URL + client token (0600): what `ferry put` reads
 *   DIR/admin-token    the helper's admin token (0600)
 *   DIR/grid-token     the grid token every storage server takes (0600), unless tokenFile names another file
 *   DIR/grid.json      live addresses while the grid runs (removed on clean exit);
 *                      storage servers as https://127.0.0.1:PORT/#spki=PIN
 *   DIR/helper/        helper data (jobs, spools)
 *   DIR/storage-<i>/   storage server i (its TLS key and certificate in tls/)
 *
 * The helper talks to its storage servers over TLS, pinned by key as any
 * helper would across hosts; the client talks to the helper over loopback http.
 * Tokens and keys are generated on first start and kept. Storage servers take fresh
 * ephemeral ports each start; their ids come from their dirs, so share maps
 * stay meaningful.
 *
 * The pieces (startStorageServers, gridHelperConfig, closeGrid) are also the
 * grid of the tests (test/support/grid.ts) and of the bench, which starts its
 * storage servers as processes and hands their URLs to gridHelperConfig.
 */
export const ADMIN_TOKEN_FILE = 'admin-token';

export interface LocalGridOptions {
  home: string;
  /** Helper port (default 3456; 0 = ephemeral). */
  port?: number;
  /** Admin listener port (default: port + 1, or ephemeral when port is 0). */
  adminPort?: number;
  /** Storage servers (default 10). */
  servers?: number;
  host?: string;
  log?: Logger;
  /** Extra helper limits (tests). */
  limits?: Record<string, unknown>;
  /** The grid token's file, as `ferry storage --token-file` takes it (default DIR/grid-token, generated on first start). */
  tokenFile?: string;
}

export interface LocalGrid {
  home: string;
  helperUrl: string;
  /** The admin page (its own listener, loopback). */
  adminUrl: string | undefined;
  clientToken: string;
  adminTokenFile: string;
  /** The one grid token's file, shared by every storage server. */
  gridTokenFile: string;
  storage: { url: string; serverId: string; dir: string }[];
  helper: RunningHelper;
  close(): Promise<void>;
}

function newToken(): string {
  return base32Encode(randomBytes(32));
}

/** A storage server the grid uses: started in this process, or by the caller (e.g. as its own process). */
export interface GridStorageServer {
  url: string;
  close(): Promise<void>;
}

/** Starts `count` storage servers in this process, in DIR/storage-<i>, on ephemeral ports. */
export async function startStorageServers(o: {
  dir: string;
  count: number;
  token: string;
  host?: string;
  log?: Logger;
  /** More settings for every server (tests: no sweep on start, a short close grace). */
  options?: Partial<StorageServerOptions>;
  /** Serve HTTPS with a self-signed certificate kept in each server's dir (default true). */
  tls?: boolean;
}): Promise<RunningStorageServer[]> {
  const log = o.log ?? silentLogger();
  const storage: RunningStorageServer[] = [];
  try {
    for (let i = 0; i < o.count; i++) {
      const dir = path.join(o.dir, `storage-${i}`);
      const host = o.host ?? '127.0.0.1';
      const tls = o.tls === false ? undefined : await loadOrCreateIdentity({ dir, host });
      storage.push(await startStorageServer({ tls, ...o.options, dir, host, port: 0, token: o.token, logger: log.child({ storage: i }) }));
    }
  } catch (err) {
    for (const s of storage) await s.close().catch(() => undefined);
    throw err;
  }
  return storage;
}

/**
 * Encoding defaults that a grid of `servers` can meet: happy never exceeds
 * the servers (or no upload could succeed), k stays near 3/10 of n so a grid
 * of any size survives losing some servers. 10 or more servers: 3/7/10.
 */
export function gridDefaults(servers: number): { k: number; happy: number; n: number } {
  const n = Math.min(DEFAULT_N, servers);
  const happy = Math.min(DEFAULT_HAPPY, servers);
  const k = Math.min(DEFAULT_K, Math.max(1, Math.ceil((n * DEFAULT_K) / DEFAULT_N)));
  return { k, happy, n };
}

/** The helper's config for a grid: its storage servers, one client token; `overrides` win (tests, bench). */
export function gridHelperConfig(o: {
  dataDir: string;
  storage: readonly { url: string }[];
  gridToken: string;
  clientToken: string;
  host?: string;
  port?: number;
  adminToken?: string;
  adminPort?: number;
  overrides?: Partial<HelperConfigInput>;
}): HelperConfig {
  const host = o.host ?? '127.0.0.1';
  return parseHelperConfig({
    host,
    port: o.port ?? 0,
    dataDir: o.dataDir,
    clientTokens: [o.clientToken],
    ...(o.adminToken === undefined ? {} : { adminToken: o.adminToken, admin: { host, port: o.adminPort ?? 0 } }),
    storageServers: o.storage.map((s) => ({ url: s.url, token: o.gridToken })),
    ...o.overrides,
  });
}

/** Stops a grid: the helper first (its jobs stop where they durably are and resume at the next start), then the storage servers. */
export async function closeGrid(helper: RunningHelper | undefined, storage: readonly (GridStorageServer | undefined)[], log: Logger = silentLogger()): Promise<void> {
  await helper?.close().catch((err: unknown) => log.error({ err }, 'helper close failed'));
  await Promise.all(storage.map((s) => s?.close().catch((err: unknown) => log.error({ err }, 'storage close failed'))));
}

export async function startLocalGrid(o: LocalGridOptions): Promise<LocalGrid> {
  const home = path.resolve(o.home);
  const host = o.host ?? '127.0.0.1';
  const count = o.servers ?? 10;
  if (!Number.isInteger(count) || count < 1 || count > 256) throw new Error(`--servers must be 1..256, got ${count}`);
  await ensurePrivateDir(home);
  const running = await readGridFile(home);
  if (running && running.pid !== process.pid && processAlive(running.pid)) {
    throw new Error(`a grid is already running from ${home} (pid ${running.pid}, helper ${running.helperUrl})`);
  }
  const log = o.log ?? silentLogger();
  const grid = await loadOrCreateGridToken(home, o.tokenFile);
  const adminTokenFile = path.join(home, ADMIN_TOKEN_FILE);
  const adminToken = (await readOrCreateSecretFile(adminTokenFile, newToken)).text;
  const clientToken = (await readClientFile(home).catch(() => undefined))?.token ?? newToken();

  const storage = await startStorageServers({ dir: home, count, token: grid.token, host, log });
  let helper: RunningHelper;
  try {
    const port = o.port ?? 3456;
    const config = gridHelperConfig({
      dataDir: path.join(home, 'helper'),
      storage,
      gridToken: grid.token,
      clientToken,
      host,
      port,
      adminToken,
      adminPort: o.adminPort ?? (port === 0 ? 0 : port + 1),
      overrides: { defaults: gridDefaults(count), ...(o.limits ? { limits: o.limits } : {}) },
    });
    try {
      helper = await startHelper(config, { log });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new Error(`port ${config.port} or ${config.admin.port} on ${host} is in use (another ferry grid?); pick others with --port and --admin-port`);
      }
      throw err;
    }
  } catch (err) {
    await closeGrid(undefined, storage);
    throw err;
  }

  const helperUrl = helper.url;
  const adminUrl = helper.adminUrl ? `${helper.adminUrl}/admin/` : undefined;
  await writeFileDurable(path.join(home, CLIENT_FILE), `${JSON.stringify({ helperUrl, token: clientToken }, null, 2)}\n`, { mode: 0o600 });
  const info: GridFile = { pid: process.pid, helperUrl, adminUrl, storage: storage.map((s) => ({ url: s.url, serverId: s.serverId, pin: s.pin })), startedAt: Date.now() };
  await writeFileDurable(path.join(home, GRID_FILE), `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });

  let closing: Promise<void> | undefined;
  return {
    home,
    helperUrl,
    adminUrl,
    clientToken,
    adminTokenFile,
    gridTokenFile: grid.file,
    storage: storage.map((s, i) => ({ url: s.url, serverId: s.serverId, dir: path.join(home, `storage-${i}`) })),
    helper,
    close: () =>
      (closing ??= (async () => {
        await closeGrid(helper, storage, log);
        await unlinkDurable(path.join(home, GRID_FILE)).catch(() => undefined);
      })()),
  };
}
