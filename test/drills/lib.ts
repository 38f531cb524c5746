import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HelperConfigInput } from '../../helper/config.js';
import { waitForListening } from '../../bench/lib/processes.js';
import { stableAddress, type StableAddress } from '../support/stable-address.js';

/** The compiled CLI (`npm run build` first). Drills use real processes, real ports, real kills. */
export const FERRY = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'bin', 'ferry.js');
export const GRID_TOKEN = 'drill-grid-token-0123456789abcdef';
export const CLIENT_TOKEN = 'drill-client-token-0123456789abcdef';

export interface Proc {
  url: string;
  child: ChildProcess;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Every child a drill started and that has not exited: `runDrills` kills what a drill left behind, on every path. */
const live = new Set<ChildProcess>();

/** Registers a child process so it is killed when its drill ends, however it ends. */
export function track<C extends ChildProcess>(child: C): C {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

const START_TIMEOUT_MS = 30_000;

/** Starts `ferry <args>` and waits for its "listening on <url>" line. */
export async function startProc(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Proc> {
  const child = track(spawn(process.execPath, [FERRY, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FERRY_LOG_LEVEL: 'warn', ...env } }));
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`ferry ${args[0]} did not listen within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
  });
  try {
    const url = await Promise.race([waitForListening(child, `ferry ${args[0]}`), timeout]);
    return { url, child, kill: (signal) => stop(child, signal) };
  } catch (err) {
    await stop(child);
    throw new Error(`${(err as Error).message}\n${out}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A storage server process on a free port. With `front`, the helper is told
 * the front's address (test/support/stable-address.ts): a restart behind it
 * needs no particular port, and while the process is down the front refuses.
 */
export async function startStorage(dir: string, o: { front?: StableAddress; extra?: string[] } = {}): Promise<Proc> {
  const tokenFile = `${dir}.token`;
  await writeFile(tokenFile, GRID_TOKEN, { mode: 0o600 });
  const proc = await startProc(['storage', '--dir', dir, '--port', '0', '--token-file', tokenFile, '--log-level', 'warn', ...(o.extra ?? [])]);
  const front = o.front;
  if (!front) return proc;
  front.target = proc.url;
  // The front forwards TCP, so TLS runs end to end through it: its address carries the server's pin (the same across restarts: same dir, same key).
  const pin = /#spki=[a-z2-7,]+$/.exec(proc.url)?.[0];
  if (pin) front.url = `https://${new URL(front.url).host}/${pin}`;
  return {
    ...proc,
    kill: (signal) => {
      // Cleared first: the freed port may be anyone's by the time the helper connects again.
      if (front.target === proc.url) front.target = undefined;
      return proc.kill(signal);
    },
  };
}

/** Fronts for `count` storage servers, closed when the drill's `finally` calls the result's close. */
export async function stableAddresses(count: number): Promise<{ fronts: StableAddress[]; close(): Promise<void> }> {
  const fronts: StableAddress[] = [];
  for (let i = 0; i < count; i++) fronts.push(await stableAddress());
  return { fronts, close: async () => void (await Promise.all(fronts.map((f) => f.close()))) };
}

/** A helper process on a fixed port (so clients can reconnect after a restart). */
export async function startHelperProc(dir: string, config: Partial<HelperConfigInput> & { storageServers: { url: string; token: string }[] }, port = 0): Promise<Proc> {
  const file = path.join(dir, 'helper.json');
  // Drills back off in milliseconds, so a job waiting for servers to return would use up the default
  // ten attempts (limits.maxAttempts) in seconds: they get as many as the config allows.
  // `ferry helper` refuses defaults its servers can never meet; drills with fewer than 7 servers lower happy.
  const servers = config.storageServers.length;
  const defaults = { k: Math.min(3, servers), happy: Math.min(7, servers), ...config.defaults };
  await writeFile(file, JSON.stringify({ dataDir: path.join(dir, 'helper'), port, clientTokens: [CLIENT_TOKEN], ...config, defaults, limits: { retryBase: '100ms', retryMax: '1s', commitEvery: '1MiB', maxAttempts: 1000, ...config.limits } }));
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
  /** The drill fails (and its processes are killed) past this; default 5 minutes. */
  timeoutMs?: number;
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
    const timeoutMs = drill.timeoutMs ?? 5 * 60_000;
    let timer: NodeJS.Timeout | undefined;
    const running = drill.run(ctx);
    try {
      await Promise.race([
        running,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${drill.name} did not finish within ${timeoutMs / 1000} s`)), timeoutMs);
        }),
      ]);
    } catch (err) {
      ctx.check(`${drill.name} ran to the end`, false, err instanceof Error ? err.stack?.split('\n').slice(0, 3).join(' | ') : String(err));
    } finally {
      clearTimeout(timer);
      // Whatever the drill left running (a timeout, a throw before its own cleanup) is killed here.
      await Promise.all([...live].map((child) => stop(child)));
      // A timed-out drill fails its pending calls once its processes are gone; give it a moment to unwind.
      await Promise.race([running.catch(() => undefined), sleep(10_000)]);
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
