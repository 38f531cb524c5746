import type { Express } from 'express';
import { StorageClient } from '../storage/client.js';
import { listen, type Listening } from '../runtime/http/listen.js';
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

export const storageClientFactory =
  (connections: number, allowInsecureHttp = false): ClientFactory =>
  (e) =>
    new StorageClient({ url: e.url, token: e.token, connections, allowInsecureHttp });

/** The helper's client API, with its gateway. */
export function helperApp(helper: Helper): Express {
  return createHelperApp(helper.httpDeps());
}

/** Opens the helper's state, starts its queue and serves its HTTP API. */
export async function startHelper(config: HelperConfig, o: { log?: Logger; encode?: EncodeFn; clientFactory?: ClientFactory } = {}): Promise<RunningHelper> {
  const helper = await Helper.open({
    config,
    log: o.log,
    encode: o.encode,
    clientFactory: o.clientFactory ?? storageClientFactory(config.limits.connectionsPerServer, config.allowInsecureHttp),
  });
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
