import type { EventEmitter } from 'node:events';
import type { Express } from 'express';
import { StorageClient } from '../storage/client.js';
import { listen, type Listening } from '../runtime/http/listen.js';
import { onSignal } from '../runtime/signals.js';
import { listenerIdentity } from '../runtime/tls/setting.js';
import type { Logger } from '../runtime/log.js';
import { Admin } from './admin/admin.js';
import { createAdminApp } from './admin/app.js';
import type { HelperConfig } from './config.js';
import type { EncodeFn } from './encode/encode-push.js';
import type { ClientFactory } from './grid/directory.js';
import { Helper } from './helper.js';
import { createHelperApp } from './http/app.js';

export interface RunningHelper {
  helper: Helper;
  url: string;
  port: number;
  /** Base URL of the admin listener (page at `${adminUrl}/admin/`); undefined when no adminToken is configured. */
  adminUrl?: string;
  close(): Promise<void>;
}

/**
 * On SIGHUP, reads the config again with `load` and applies it. A config
 * that does not load (bad JSON, a value out of range) is refused with one
 * log line, and the running config stays. Returns the function that stops
 * listening.
 */
export function reloadOnHangup(running: RunningHelper, load: () => Promise<HelperConfig>, source?: EventEmitter): () => void {
  return onSignal(
    'SIGHUP',
    async () => {
      let next: HelperConfig;
      try {
        next = await load();
      } catch (err) {
        running.helper.log.error({ reloadError: (err as Error).message }, `config reload refused, the running config stays: ${(err as Error).message}`);
        return;
      }
      running.helper.reload(next);
    },
    source,
  );
}

export const storageClientFactory =
  (connections: number, allowInsecureHttp = false): ClientFactory =>
  (e) =>
    new StorageClient({ url: e.url, token: e.token, connections, allowInsecureHttp });

/** The helper's client API, with its gateway. */
export function helperApp(helper: Helper): Express {
  return createHelperApp(helper.httpDeps());
}

/**
 * Why uploads with the config's defaults can never succeed: `happy` asks for
 * more storage servers than are configured. `ferry helper` refuses such a
 * config; a helper started from code only warns (it may get servers later).
 */
export function unreachableHappiness(config: HelperConfig): string | undefined {
  const servers = config.storageServers.length;
  const { happy } = config.defaults;
  // No servers at all is a helper still being set up (warned about at start), not a contradiction.
  if (happy <= servers || servers === 0) return undefined;
  return (
    `defaults.happy is ${happy} but ${servers} storage server${servers === 1 ? ' is' : 's are'} configured: ` +
    `no upload with the defaults could ever succeed (each needs shares on ${happy} different servers); ` +
    `add storage servers or lower "defaults" (k <= happy <= n, happy <= ${servers})`
  );
}

/** Warnings about the grid at start: uploads that cannot succeed, or not now. */
function warnAboutGrid(helper: Helper, config: HelperConfig): void {
  const never = unreachableHappiness(config);
  if (never) {
    helper.log.warn(never);
    return;
  }
  if (config.storageServers.length === 0) {
    helper.log.warn('no storage servers configured: uploads cannot complete until some are added to "storageServers"');
    return;
  }
  const up = helper.grid.health().filter((h) => h.reachable).length;
  if (up < config.defaults.happy) {
    helper.log.warn(
      { reachable: up, configured: config.storageServers.length, happy: config.defaults.happy },
      `only ${up} of ${config.storageServers.length} storage servers answered; uploads wait (failed, retrying) until ${config.defaults.happy} do`,
    );
  }
}

/** Opens the helper's state, starts its queue and serves its HTTP API. */
export async function startHelper(config: HelperConfig, o: { log?: Logger; encode?: EncodeFn; clientFactory?: ClientFactory } = {}): Promise<RunningHelper> {
  const helper = await Helper.open({
    config,
    log: o.log,
    encode: o.encode,
    clientFactory: o.clientFactory ?? storageClientFactory(config.limits.connectionsPerServer, config.allowInsecureHttp),
  });
  warnAboutGrid(helper, config);
  const identity = (host: string, what: string) =>
    listenerIdentity({ setting: config.tls, defaultOn: false, host, dir: config.dataDir, allowInsecureHttp: config.allowInsecureHttp, what });
  const app = helperApp(helper);
  let l: Listening;
  try {
    const tls = await identity(config.host, 'the helper');
    l = await listen(app, { host: config.host, port: config.port, idleTimeoutMs: config.limits.idleTimeout, maxConnections: config.limits.maxConnections, tls });
  } catch (err) {
    // A port in use must not leave the job store locked and the worker threads running.
    await helper.close();
    throw err;
  }
  // The admin API, page and metrics have a listener of their own (loopback by default).
  let admin: { admin: Admin; close(): Promise<void>; url: string } | undefined;
  if (config.adminToken) {
    const a = await Admin.open(helper.adminDeps());
    try {
      const tls = await identity(config.admin.host, 'the admin listener');
      const al = await listen(createAdminApp(a), { host: config.admin.host, port: config.admin.port, idleTimeoutMs: config.limits.idleTimeout, maxConnections: config.limits.maxConnections, tls });
      admin = { admin: a, url: al.url, close: () => al.close() };
      helper.log.info({ url: `${al.url}/admin/` }, 'admin listening');
    } catch (err) {
      a.close();
      await l.close();
      await helper.close();
      throw err;
    }
  } else {
    helper.log.info('no adminToken configured: the admin API, page and metrics are off');
  }
  return {
    helper,
    url: l.url,
    port: l.port,
    adminUrl: admin?.url,
    close: async () => {
      admin?.admin.close();
      await admin?.close();
      await l.close();
      await helper.close();
    },
  };
}
