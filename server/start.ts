import { StorageClient } from '../storage/client.js';
import { listen } from '../runtime/http/listen.js';
import type { Logger } from '../runtime/log.js';
import type { HelperConfig } from './config.js';
import type { EncodeFn } from './encode/encode-push.js';
import type { ClientFactory } from './grid/directory.js';
import { Helper } from './helper.js';
import { createHelperApp } from './http/app.js';

export interface RunningHelper {
  helper: Helper;
  url: string;
  port: number;
  close(): Promise<void>;
}

export const storageClientFactory =
  (connections: number): ClientFactory =>
  (e) =>
    new StorageClient({ url: e.url, token: e.token, connections });

/** Opens the helper's state, starts its queue and serves its HTTP API. */
export async function startHelper(config: HelperConfig, o: { log?: Logger; encode?: EncodeFn; clientFactory?: ClientFactory } = {}): Promise<RunningHelper> {
  const helper = await Helper.open({
    config,
    log: o.log,
    encode: o.encode,
    clientFactory: o.clientFactory ?? storageClientFactory(config.limits.connectionsPerServer),
  });
  const app = createHelperApp(helper);
  const l = await listen(app, { host: config.host, port: config.port, idleTimeoutMs: config.limits.idleTimeout });
  return {
    helper,
    url: l.url,
    port: l.port,
    close: async () => {
      await l.close();
      await helper.close();
    },
  };
}
