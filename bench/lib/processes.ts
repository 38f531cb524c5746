import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withServiceProcessEnv } from '../../runtime/heap.js';

/** The compiled CLI, next to this file in dist/. */
export const FERRY_BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'ferry.js');

export interface StorageProcess {
  url: string;
  child: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * A storage server in its own process, started as its systemd unit starts it
 * (SERVICE_PROCESS_ENV), on an ephemeral loopback port. `tls: false`: plain
 * HTTP (the bench's same-run baseline for the cost of TLS); default HTTPS
 * with a pinned address, as `ferry storage`.
 */
export async function spawnStorage(dir: string, token: string, nodeArgs: string[] = [], o: { tls?: boolean } = {}): Promise<StorageProcess> {
  const tokenFile = `${dir}.token`;
  await writeFile(tokenFile, token, { mode: 0o600 });
  const child = spawn(process.execPath, [...nodeArgs, FERRY_BIN, 'storage', '--dir', dir, '--port', '0', '--token-file', tokenFile, '--log-level', 'warn', ...(o.tls === false ? ['--no-tls'] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: withServiceProcessEnv(),
  });
  const url = await waitForListening(child, 'storage server');
  return {
    url,
    child,
    stop: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}

/** Resolves with the address a `ferry` server process prints once it listens ("listening on http://…", or https://…/#spki=… pinned). */
export function waitForListening(child: ChildProcess, what: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (https?:\/\/[^\s/]+(?:\/#spki=[a-z2-7,]+)?)/.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code, signal) => reject(new Error(`${what} exited (${code ?? signal}): ${out.slice(-2000)}`)));
  });
}
