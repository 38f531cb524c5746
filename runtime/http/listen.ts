import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';

export interface Listening {
  server: http.Server | https.Server;
  /** `http://host:port`, or `https://…` when serving TLS. */
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface ListenOptions {
  host: string;
  /** 0 picks a free port (see the result's `port`). */
  port: number;
  /** A socket with no traffic for this long is dropped (default 120 s). */
  idleTimeoutMs?: number;
  /** Time allowed to receive the request headers (default 60 s). */
  headersTimeoutMs?: number;
  /** How long an idle keep-alive socket is kept (default 10 s). */
  keepAliveTimeoutMs?: number;
  /**
   * On close, busy connections may finish for this long before they are cut
   * (default 0: cut at once, for servers whose own close already stopped their work).
   */
  closeGraceMs?: number;
  /** Connections open at once; one more is closed as it arrives (default: no limit). */
  maxConnections?: number;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
}

/**
 * Starts an HTTP server for long transfers: Node's default requestTimeout
 * (300 s) would kill a long upload with 408, so it is off; a socket that
 * sends nothing for `idleTimeoutMs` is dropped instead. HTTPS when `tls` is given.
 */
export async function listen(handler: RequestListener, o: ListenOptions): Promise<Listening> {
  const options = { requestTimeout: 0, headersTimeout: o.headersTimeoutMs ?? 60_000, keepAliveTimeout: o.keepAliveTimeoutMs ?? 10_000 };
  const server = o.tls ? https.createServer({ ...options, cert: o.tls.cert, key: o.tls.key }, handler) : http.createServer(options, handler);
  server.timeout = o.idleTimeoutMs ?? 120_000;
  if (o.maxConnections !== undefined) server.maxConnections = o.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  const graceMs = o.closeGraceMs ?? 0;
  return {
    server,
    port,
    url: `${o.tls ? 'https' : 'http'}://${host}:${port}`,
    close: async () => {
      const grace = graceMs > 0 ? setTimeout(() => server.closeAllConnections(), graceMs) : undefined;
      grace?.unref();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if (grace) server.closeIdleConnections();
        else server.closeAllConnections();
      });
      clearTimeout(grace);
    },
  };
}
