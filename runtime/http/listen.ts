import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';

export interface Listening {
  server: http.Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Starts an HTTP server for long transfers: Node's default requestTimeout
 * (300 s) would kill a long upload with 408, so it is off; a socket that
 * sends nothing for `idleTimeoutMs` is dropped instead.
 */
export async function listen(handler: RequestListener, o: { host: string; port: number; idleTimeoutMs?: number }): Promise<Listening> {
  const server = http.createServer({ requestTimeout: 0, headersTimeout: 60_000, keepAliveTimeout: 10_000 }, handler);
  server.timeout = o.idleTimeoutMs ?? 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    server,
    port,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
