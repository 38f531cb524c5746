import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
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

/**
 * `npm test` builds first; a direct `vitest run` may find dist/ missing or
 * older than the client sources, so build then (once, under a lock: two test
 * files may ask at the same time).
 */
export async function ensureBuilt(): Promise<void> {
  const stale = () => !existsSync(FERRY_BIN) || statSync(FERRY_BIN).mtimeMs < newestSource(path.join(ROOT, 'client'));
  if (!stale()) return;
  const lock = path.join(os.tmpdir(), `ferry-build-lock-${Buffer.from(ROOT).toString('hex').slice(-24)}`);
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    if (!stale()) return;
    const r = await run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT });
    // tsc emits despite type errors elsewhere in a tree in flux; only a missing or stale CLI is fatal here.
    if (r.code !== 0 && stale()) throw new Error(`build failed:\n${r.stdout.toString()}${r.stderr.toString()}`);
    if (r.code !== 0) console.warn(`ensureBuilt: tsc reported errors (outputs written anyway):\n${r.stdout.toString()}`);
  } finally {
    rmdirSync(lock);
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
}

function run(cmd: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: o.cwd, env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
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
  const child = spawn(process.execPath, [FERRY_BIN, ...args], { cwd: o.cwd, env: o.env ?? cliEnv(o.cwd), stdio: ['ignore', 'pipe', 'pipe'] });
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
