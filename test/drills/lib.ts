import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HelperConfigInput } from '../../helper/config.js';
import { waitForListening } from '../../bench/lib/processes.js';

/** The compiled CLI (`npm run build` first). Drills use real processes, real ports, real kills. */
export const FERRY = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'bin', 'ferry.js');
export const GRID_TOKEN = 'drill-grid-token-0123456789abcdef';
export const CLIENT_TOKEN = 'drill-client-token-0123456789abcdef';

export interface Proc {
  url: string;
  child: ChildProcess;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `ferry <args>` and waits for its "listening on <url>" line. */
export async function startProc(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Proc> {
  const child = spawn(process.execPath, [FERRY, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FERRY_LOG_LEVEL: 'warn', ...env } });
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  const url = await waitForListening(child, `ferry ${args[0]}`).catch((err: Error) => {
    throw new Error(`${err.message}\n${out}`);
  });
  return {
    url,
    child,
    kill: (signal = 'SIGKILL') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}

/** A storage server process; pass the port of an earlier run to restart it where the helper expects it. */
export async function startStorage(dir: string, o: { port?: number; extra?: string[] } = {}): Promise<Proc> {
  const tokenFile = `${dir}.token`;
  await writeFile(tokenFile, GRID_TOKEN, { mode: 0o600 });
  return startProc(['storage', '--dir', dir, '--port', String(o.port ?? 0), '--token-file', tokenFile, '--log-level', 'warn', ...(o.extra ?? [])]);
}

export function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** A helper process on a fixed port (so clients can reconnect after a restart). */
export async function startHelperProc(dir: string, config: Partial<HelperConfigInput> & { storageServers: { url: string; token: string }[] }, port = 0): Promise<Proc> {
  const file = path.join(dir, 'helper.json');
  await writeFile(file, JSON.stringify({ dataDir: path.join(dir, 'helper'), port, clientTokens: [CLIENT_TOKEN], ...config, limits: { retryBase: '100ms', retryMax: '1s', commitEvery: '1MiB', ...config.limits } }));
  return startProc(['helper', '--config', file, '--log-level', 'warn']);
}

export interface DrillContext {
  dir: string;
  /** Records one check: what was verified and whether it held. */
  check(what: string, ok: boolean, detail?: string): void;
  log(line: string): void;
}

export interface Drill {
  name: string;
  run(ctx: DrillContext): Promise<void>;
}

/** Runs drills one after the other; prints every check and the closing `N passed, N failed` line. */
export async function runDrills(drills: Drill[]): Promise<{ passed: number; failed: number }> {
  let passed = 0;
  let failed = 0;
  for (const drill of drills) {
    const dir = await mkdtemp(path.join(os.tmpdir(), `ferry-drill-`));
    const t0 = performance.now();
    console.log(`\n== ${drill.name}`);
    const ctx: DrillContext = {
      dir,
      check(what, ok, detail) {
        if (ok) passed++;
        else failed++;
        console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ` (${detail})` : ''}`);
      },
      log: (line) => console.log(`  .. ${line}`),
    };
    try {
      await drill.run(ctx);
    } catch (err) {
      ctx.check(`${drill.name} ran to the end`, false, err instanceof Error ? err.stack?.split('\n').slice(0, 3).join(' | ') : String(err));
    } finally {
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
    console.log(`  (${Math.round(performance.now() - t0)} ms)`);
  }
  console.log(`\n${passed} passed, ${failed} failed`);
  return { passed, failed };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `fn` returns a value (not undefined) or the time runs out. */
export async function until<T>(fn: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
