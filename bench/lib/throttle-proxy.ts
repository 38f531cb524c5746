/**
 * A TCP proxy on loopback whose client → server direction is capped at a
 * byte rate shared by all its connections: a client on a link of that speed
 * (the answers flow back unthrottled; they are small).
 */
import net from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import { once } from 'node:events';

/** A token bucket: `take(n)` resolves when n more bytes fit in the rate. */
class Bucket {
  private nextFree = performance.now();
  constructor(private readonly bytesPerMs: number) {}

  /** Milliseconds to wait before sending n bytes. */
  reserve(n: number): number {
    const now = performance.now();
    const start = Math.max(now, this.nextFree);
    this.nextFree = start + n / this.bytesPerMs;
    return Math.max(0, this.nextFree - now);
  }
}

/** Passes chunks on no faster than the bucket allows, split so bursts stay small. */
class Throttle extends Transform {
  constructor(private readonly bucket: Bucket) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const piece = 16 * 1024;
    const send = (off: number): void => {
      if (off >= chunk.length) return done();
      const part = chunk.subarray(off, off + piece);
      const wait = this.bucket.reserve(part.length);
      const go = () => {
        this.push(part);
        send(off + part.length);
      };
      if (wait < 1) go();
      else setTimeout(go, wait);
    };
    send(0);
  }
}

export interface ThrottleProxy {
  url: string;
  close(): Promise<void>;
}

/** A proxy to `target` (http://host:port) whose uploads run at most `mbps` MB/s (10^6 bytes). */
export async function throttleProxy(target: string, mbps: number): Promise<ThrottleProxy> {
  const { hostname, port } = new URL(target);
  const bucket = new Bucket((mbps * 1e6) / 1000);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(new Throttle(bucket)).pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${addr.port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
