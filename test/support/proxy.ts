import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 for misbehaving-link tests. It counts bytes in
 * each direction and can cut every connection after N client-to-server bytes,
 * throttle the client-to-server direction, or black-hole a connection (stop
 * forwarding without closing it, as a dead NAT entry does).
 */
export interface TcpProxy {
  url: string;
  port: number;
  /** Client-to-target bytes forwarded since the last reset. */
  bytesUp: number;
  bytesDown: number;
  connections: number;
  cuts: number;
  stalls: number;
  resetCounters(): void;
  /** Cut each connection after it forwarded this many client bytes (undefined: never). */
  cutEvery: number | undefined;
  /** Client-to-target rate limit in bytes/s (undefined: unlimited). */
  bytesPerSecond: number | undefined;
  /** Black-hole the next `count` connections once each has forwarded `afterBytes` client bytes. */
  stallNext(afterBytes: number, count?: number): void;
  close(): Promise<void>;
}

export async function startProxy(target: string, o: { cutEvery?: number; bytesPerSecond?: number } = {}): Promise<TcpProxy> {
  const { hostname, port: targetPort } = new URL(target);
  const sockets = new Set<net.Socket>();
  let stallPlan: { afterBytes: number; count: number } | undefined;

  const server = net.createServer((client) => {
    proxy.connections++;
    const upstream = net.connect({ host: hostname, port: Number(targetPort) });
    sockets.add(client);
    sockets.add(upstream);
    let up = 0;
    let stallAt: number | undefined;
    if (stallPlan && stallPlan.count > 0) {
      stallAt = stallPlan.afterBytes;
      stallPlan.count--;
    }
    let stalled = false;
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
    upstream.on('data', (chunk: Buffer) => {
      if (stalled) return;
      proxy.bytesDown += chunk.length;
      client.write(chunk);
    });
    client.on('data', (chunk: Buffer) => {
      if (stalled) return;
      let data = chunk;
      const limit = Math.min(proxy.cutEvery ?? Infinity, stallAt ?? Infinity);
      if (up + data.length >= limit) data = data.subarray(0, limit - up);
      up += data.length;
      proxy.bytesUp += data.length;
      if (data.length) upstream.write(data);
      if (stallAt !== undefined && up >= stallAt) {
        stalled = true;
        proxy.stalls++;
        return;
      }
      if (proxy.cutEvery !== undefined && up >= proxy.cutEvery) {
        proxy.cuts++;
        // Let the forwarded part reach the target before the cut.
        upstream.end(() => end());
        client.destroy();
        return;
      }
      if (proxy.bytesPerSecond) {
        client.pause();
        setTimeout(() => client.resume(), (data.length / proxy.bytesPerSecond) * 1000).unref();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const proxy: TcpProxy = {
    url: `http://127.0.0.1:${port}`,
    port,
    bytesUp: 0,
    bytesDown: 0,
    connections: 0,
    cuts: 0,
    stalls: 0,
    cutEvery: o.cutEvery,
    bytesPerSecond: o.bytesPerSecond,
    resetCounters() {
      proxy.bytesUp = 0;
      proxy.bytesDown = 0;
      proxy.connections = 0;
      proxy.cuts = 0;
      proxy.stalls = 0;
    },
    stallNext(afterBytes, count = 1) {
      stallPlan = { afterBytes, count };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
