import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy for download tests, acting on the server-to-client direction
 * (test/support/proxy.ts acts on the other one): it can slow it down and cut
 * connections after a number of bytes, the way a flaky link drops a download.
 */
export interface DownLink {
  url: string;
  /** Server-to-client bytes forwarded. */
  bytesDown: number;
  connections: number;
  cuts: number;
  /** Server-to-client rate limit in bytes/s (undefined: unlimited). */
  bytesPerSecond: number | undefined;
  /** Cut the next `count` connections after they forwarded `afterBytes` bytes to the client. */
  cutNext(afterBytes: number, count?: number): void;
  close(): Promise<void>;
}

export async function startDownLink(target: string, o: { bytesPerSecond?: number } = {}): Promise<DownLink> {
  const { hostname, port: targetPort } = new URL(target);
  const sockets = new Set<net.Socket>();
  let cutPlan: { afterBytes: number; count: number } | undefined;
  const server = net.createServer((client) => {
    link.connections++;
    const upstream = net.connect({ host: hostname, port: Number(targetPort) });
    sockets.add(client);
    sockets.add(upstream);
    let cutAt: number | undefined;
    if (cutPlan && cutPlan.count > 0) {
      cutAt = cutPlan.afterBytes;
      cutPlan.count--;
    }
    let down = 0;
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    let cut = false;
    upstream.on('data', (chunk: Buffer) => {
      if (cut) return;
      let data = chunk;
      if (cutAt !== undefined && down + data.length >= cutAt) data = data.subarray(0, cutAt - down);
      down += data.length;
      link.bytesDown += data.length;
      if (data.length) client.write(data);
      if (cutAt !== undefined && down >= cutAt) {
        link.cuts++;
        cut = true;
        upstream.destroy();
        client.end(() => end());
        return;
      }
      if (link.bytesPerSecond) {
        upstream.pause();
        setTimeout(() => upstream.resume(), (data.length / link.bytesPerSecond) * 1000).unref();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const link: DownLink = {
    url: `http://127.0.0.1:${port}`,
    bytesDown: 0,
    connections: 0,
    cuts: 0,
    bytesPerSecond: o.bytesPerSecond,
    cutNext(afterBytes, count = 1) {
      cutPlan = { afterBytes, count };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return link;
}
