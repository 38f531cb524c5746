/**
 * The storage server: `createStorageApp` builds the express app around an
 * injected ShareStore; `startStorageServer` opens a DiskShareStore, listens
 * and runs the periodic sweep.
 */
import express, { type ErrorRequestHandler, type Express } from 'express';
import { silentLogger, type Logger } from '../runtime/log.js';
import { bearerAuth } from '../runtime/http/auth.js';
import { releaseRequestBody } from '../runtime/http/body.js';
import { errorHandler, notFoundHandler } from '../runtime/http/errors.js';
import { listen, type Listening } from '../runtime/http/listen.js';
import { requestLog } from '../runtime/http/request-log.js';
import { formatPinnedAddress } from '../runtime/tls/address.js';
import { storageRouter } from './http/router.js';
import { STORAGE_API_PREFIX } from './protocol.js';
import { DiskShareStore, type DiskStoreOptions } from './store/disk-store.js';
import type { ShareStore, SweepResult } from './store/types.js';

export const DEFAULT_MAX_WRITE_SIZE = 64 * 2 ** 20;
export const APPLICATION_VERSION = 'ferry/0.1.0';

export interface StorageAppOptions {
  store: ShareStore;
  /** The grid token every request must present as `Authorization: Bearer <token>`. */
  token: string;
  /** Largest body of one PATCH (default 64 MiB); larger is 413. */
  maxWriteSize?: number;
  logger?: Logger;
  applicationVersion?: string;
}

export function createStorageApp(options: StorageAppOptions): Express {
  const log = options.logger ?? silentLogger();
  const maxWriteSize = options.maxWriteSize ?? DEFAULT_MAX_WRITE_SIZE;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.use(requestLog(log));
  app.use(bearerAuth({ token: options.token, realm: 'ferry-storage' }));
  app.use(
    STORAGE_API_PREFIX,
    storageRouter({ store: options.store, maxWriteSize, applicationVersion: options.applicationVersion ?? APPLICATION_VERSION }),
  );
  app.use(notFoundHandler);
  const answer = errorHandler(log);
  const onError: ErrorRequestHandler = (err, req, res, next) => {
    // An error may come before the body was read (e.g. a 409 mid-chunk): let the connection recover.
    releaseRequestBody(req, res, maxWriteSize);
    answer(err, req, res, next);
  };
  app.use(onError);
  return app;
}

export interface StorageServerOptions extends Omit<DiskStoreOptions, 'log'> {
  token: string;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Port (default 0: an ephemeral port, see the result's `port`). */
  port?: number;
  maxWriteSize?: number;
  /** Time between sweeps (default 1 hour). */
  sweepIntervalMs?: number;
  /** Run a sweep right after start (default true). */
  sweepOnStart?: boolean;
  /** A socket with no traffic for this long is closed (default 5 minutes). */
  idleTimeoutMs?: number;
  /** Time allowed to receive the request headers (default 60 s). */
  headersTimeoutMs?: number;
  /** On close, connections still busy after this long are cut (default 10 s). */
  closeGraceMs?: number;
  /** Serve HTTPS with this identity (runtime/tls/identity.ts); the server's address then carries its pin. */
  tls?: { cert: string; key: string; pin: string };
  logger?: Logger;
}

export interface RunningStorageServer {
  /**
   * The address clients use: `https://127.0.0.1:34567/#spki=<pin>` with TLS,
   * `http://127.0.0.1:34567` without (the API is under /storage/v1).
   */
  url: string;
  /** `http(s)://host:port`, without the pin. */
  origin: string;
  /** The key pin, with TLS. */
  pin?: string;
  host: string;
  port: number;
  serverId: string;
  store: DiskShareStore;
  /** Runs a sweep now (one at a time). */
  sweep(): Promise<SweepResult>;
  close(): Promise<void>;
}

export async function startStorageServer(options: StorageServerOptions): Promise<RunningStorageServer> {
  const log = options.logger ?? silentLogger();
  const store = await DiskShareStore.open({ ...options, log });
  const app = createStorageApp({ store, token: options.token, maxWriteSize: options.maxWriteSize, logger: log });
  const host = options.host ?? '127.0.0.1';
  let listening: Listening;
  try {
    // Large uploads on slow links must not hit a whole-request deadline; idle sockets are what we cut.
    listening = await listen(app, {
      host,
      port: options.port ?? 0,
      idleTimeoutMs: options.idleTimeoutMs ?? 5 * 60_000,
      headersTimeoutMs: options.headersTimeoutMs,
      keepAliveTimeoutMs: 5_000,
      closeGraceMs: options.closeGraceMs ?? 10_000,
      tls: options.tls,
    });
  } catch (err) {
    await store.close();
    throw err;
  }

  let running: Promise<SweepResult> | undefined;
  const sweep = (): Promise<SweepResult> => {
    running ??= store.sweep().finally(() => {
      running = undefined;
    });
    return running;
  };
  const tick = () => {
    sweep().catch((err: unknown) => log.error({ err }, 'sweep failed'));
  };
  const timer = setInterval(tick, options.sweepIntervalMs ?? 3_600_000);
  timer.unref();
  if (options.sweepOnStart ?? true) setImmediate(tick);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      clearInterval(timer);
      await listening.close();
      await running?.catch(() => undefined);
      await store.close();
    })();
    return closing;
  };

  const url = options.tls ? formatPinnedAddress(listening.url, [options.tls.pin]) : listening.url;
  return { url, origin: listening.url, pin: options.tls?.pin, host, port: listening.port, serverId: store.serverId, store, sweep, close };
}
