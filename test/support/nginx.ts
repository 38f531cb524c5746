import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { ROOT } from './cli.js';

/** Debian's nginx binary (the package `.ci/run` installs). */
export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));

/** The proxy settings shipped in deploy/: the test includes this very file. */
export const PROXY_SNIPPET = path.join(ROOT, 'deploy', 'nginx', 'ferry-proxy.conf');

export interface RunningNginx {
  url: string;
  /** nginx's error log so far (for failure messages). */
  errors(): Promise<string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function config(dir: string, port: number, upstream: URL): string {
  // As root (CI containers) the workers would switch to "nobody" and lose the temp dir; keep them the test user.
  const user = process.getuid?.() === 0 ? 'user root root;' : '';
  return `${user}
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream ferry_helper { server ${upstream.host}; keepalive 4; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://ferry_helper;
      include ${PROXY_SNIPPET};
    }
  }
}
`;
}

async function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Starts nginx in the foreground (`daemon off`) as the test user, with its
 * prefix, config, logs and temp dirs under `dir`, proxying to `upstream`
 * with deploy/nginx/ferry-proxy.conf. Stopped by its pid (`stop()`).
 */
export async function startNginx(dir: string, upstream: string): Promise<RunningNginx> {
  if (!NGINX) throw new Error('nginx is not installed');
  await mkdir(dir, { recursive: true });
  const conf = path.join(dir, 'nginx.conf');
  const errorLog = path.join(dir, 'error.log');
  const errors = () => readFile(errorLog, 'utf8').catch(() => '');
  // A port picked here may be taken before nginx binds it: try a few.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    await writeFile(conf, config(dir, port, new URL(upstream)));
    const test = spawnSync(NGINX, ['-t', '-p', dir, '-e', errorLog, '-c', conf], { encoding: 'utf8' });
    if (test.status !== 0) throw new Error(`nginx -t failed:\n${test.stderr}`);
    const child: ChildProcess = spawn(NGINX, ['-p', dir, '-e', errorLog, '-c', conf], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM'); // nginx's fast shutdown
        await exited;
      }
    };
    const deadline = Date.now() + 20_000;
    while (child.exitCode === null && child.signalCode === null && !(await reachable(port))) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`nginx did not listen on ${port}:\n${await errors()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (child.exitCode === null && child.signalCode === null) return { url: `http://127.0.0.1:${port}`, errors, stop };
    const log = await errors();
    if (attempt < 3 && /Address already in use/.test(log)) continue;
    throw new Error(`nginx exited at start:\n${log}`);
  }
}
