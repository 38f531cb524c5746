/**
 * CPU time per process, the figure that stays meaningful on a noisy machine
 * where wall time does not: user + system seconds, summed over all threads
 * (worker threads and the libuv pool included).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

let ticksPerSecond: number | undefined;

/** Kernel clock ticks per second (the unit of /proc/<pid>/stat times). */
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU seconds in a /proc stat file; undefined once the process is gone. */
async function statCpuSeconds(file: string): Promise<number | undefined> {
  try {
    const stat = await readFile(file, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / clockTicks();
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds a live process has used so far; undefined once it is gone. */
export async function cpuSecondsOf(pid: number | undefined): Promise<number | undefined> {
  return pid ? statCpuSeconds(`/proc/${pid}/stat`) : undefined;
}

/**
 * The same for the process's main thread alone (its event loop: HTTP, TLS,
 * JavaScript); the rest is worker threads, the libuv pool and V8's helpers.
 */
export async function mainThreadCpuSecondsOf(pid: number | undefined): Promise<number | undefined> {
  return pid ? statCpuSeconds(`/proc/${pid}/task/${pid}/stat`) : undefined;
}

/** CPU seconds of a group of live processes (e.g. ten storage servers), summed; `of` picks whole processes or main threads. */
export async function cpuSecondsOfAll(pids: (number | undefined)[], of: (pid: number | undefined) => Promise<number | undefined> = cpuSecondsOf): Promise<number> {
  const each = await Promise.all(pids.map((p) => of(p)));
  return each.reduce<number>((sum, s) => sum + (s ?? 0), 0);
}

/**
 * Node flags that make a child write its own CPU time to `file` as it exits
 * (for processes that end on their own, whose /proc entry is gone by then).
 */
export function cpuAtExitFlags(): string[] {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return ['--import', pathToFileURL(path.join(here, 'cpu-at-exit.js')).href];
}

/** What a child started with `cpuAtExitFlags()` wrote: CPU seconds, or undefined. */
export function readCpuAtExit(file: string): number | undefined {
  try {
    const usage = JSON.parse(readFileSync(file, 'utf8')) as { user: number; system: number };
    return (usage.user + usage.system) / 1e6;
  } catch {
    return undefined;
  }
}

/** CPU seconds per GiB of payload. */
export function perGiB(cpuSeconds: number, bytes: number): number {
  return cpuSeconds / (bytes / 2 ** 30);
}
