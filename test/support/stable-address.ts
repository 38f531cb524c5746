import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A fixed address for a server that restarts: a TCP forwarder on a port this
 * process holds for the whole test, pointed at wherever the server listens
 * now. Restarting a server "on its old port" races with the OS handing that
 * freed port to anyone else (a listener, or an outgoing connection's local
 * port); a restarted server takes any free port and the forwarder follows.
 * With no target (the server is down) connections are accepted and closed at
 * once, as a refused connection would end.
 */
export interface StableAddress {
  url: string;
  /** Where connections go now (undefined: the server is down). */
  target: string | undefined;
  close(): Promise<void>;
}

export async function stableAddress(target?: string): Promise<StableAddress> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    if (!address.target) {
      client.destroy();
      return;
    }
    const { hostname, port } = new URL(address.target);
    const upstream = net.connect({ host: hostname, port: Number(port) });
    sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on('close', () => {
      sockets.delete(upstream);
      end();
    });
    upstream.on('error', end);
    client.on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address: StableAddress = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    target,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return address;
}
