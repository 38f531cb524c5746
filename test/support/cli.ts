import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Runs the compiled CLI (`node dist/bin/ferry.js`), as a user would. */
export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const FERRY_BIN = path.join(ROOT, 'dist', 'bin', 'ferry.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, name.name);
    if (name.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (name.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** Every folder tsconfig.build.json compiles: a change in any of them makes dist/ stale. */
const BUILT = ['core', 'storage', 'helper', 'client', 'cli', 'runtime', 'bin', 'bench'];
/** A build lock older than this is left over from a killed run. */
const STALE_LOCK_MS = 5 * 60_000;

/** Takes the build lock (a directory holding the owner's pid); breaks it when its owner is gone or it is too old. */
async function takeLock(lock: string): Promise<void> {
  const deadline = Date.now() + 2 * STALE_LOCK_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(path.join(lock, 'pid'), String(process.pid));
      return;
    } catch {
      if (lockAbandoned(lock)) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`build lock ${lock} held too long`);
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function lockAbandoned(lock: string): boolean {
  try {
    if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) return true;
    const pid = Number(readFileSync(path.join(lock, 'pid'), 'utf8'));
    if (!Number.isInteger(pid) || pid <= 0) return false; // being written right now
    process.kill(pid, 0);
    return false;
  } catch (err) {
    // ESRCH: the owner died; ENOENT on the pid file: just created, not abandoned.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * `npm test` builds first; a direct `vitest run` may find dist/ missing or
 * older than the sources, so build then (once, under a lock: two test
 * files may ask at the same time).
 */
export async function ensureBuilt(): Promise<void> {
  const stale = () => !existsSync(FERRY_BIN) || statSync(FERRY_BIN).mtimeMs < Math.max(...BUILT.map((d) => newestSource(path.join(ROOT, d))));
  if (!stale()) return;
  const lock = path.join(os.tmpdir(), `ferry-build-lock-${Buffer.from(ROOT).toString('hex').slice(-24)}`);
  await takeLock(lock);
  try {
    if (!stale()) return;
    const r = await run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT });
    // tsc emits despite type errors elsewhere in a tree in flux; only a missing or stale CLI is fatal here.
    if (r.code !== 0 && stale()) throw new Error(`build failed:\n${r.stdout.toString()}${r.stderr.toString()}`);
    if (r.code !== 0) console.warn(`ensureBuilt: tsc reported errors (outputs written anyway):\n${r.stdout.toString()}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
}

/** CLI processes started by the tests and still running; `stopSpawned()` in an afterEach/afterAll ends them. */
const spawned = new Set<ChildProcess>();

/** Starts the CLI and registers the child for `stopSpawned()`. */
export function spawnFerry(args: string[], o: { cwd: string; env?: NodeJS.ProcessEnv; stdio?: 'ignore' | 'pipe' }): ChildProcess {
  return tracked(spawn(process.execPath, [FERRY_BIN, ...args], { cwd: o.cwd, env: o.env ?? cliEnv(o.cwd), stdio: ['ignore', o.stdio ?? 'pipe', o.stdio ?? 'pipe'] }));
}

function tracked<C extends ChildProcess>(child: C): C {
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  return child;
}

/** Kills (SIGKILL) every CLI process a test started that is still running, and waits for them to exit. */
export async function stopSpawned(): Promise<void> {
  await Promise.all(
    [...spawned].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

function run(cmd: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = tracked(spawn(cmd, args, { cwd: o.cwd, env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] }));
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }));
  });
}

/** Environment for CLI runs: no FERRY_* from the outside, HOME in the test dir (no ~/.local/state writes). */
export function cliEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('FERRY_') && !k.startsWith('VITEST')) env[k] = v;
  return { ...env, HOME: home, XDG_STATE_HOME: path.join(home, '.state'), ...extra };
}

export function ferry(args: string[], o: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<RunResult> {
  return run(process.execPath, [FERRY_BIN, ...args], { cwd: o.cwd, env: o.env ?? cliEnv(o.cwd) });
}

/** Starts a long-running CLI command; resolves once its stdout contains `ready`. */
export async function startFerry(args: string[], o: { cwd: string; env?: NodeJS.ProcessEnv; ready: string; timeoutMs?: number }): Promise<{ child: ChildProcess; output: () => string; exited: Promise<number | null> }> {
  const child = spawnFerry(args, o);
  let text = '';
  child.stdout!.on('data', (b: Buffer) => (text += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (text += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  while (!text.includes(o.ready)) {
    if (child.exitCode !== null) throw new Error(`ferry ${args.join(' ')} exited ${child.exitCode}:\n${text}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`ferry ${args.join(' ')} not ready:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, output: () => text, exited };
}
