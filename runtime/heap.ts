/**
 * V8 heap tuning for Ferry's long-running services (helper, storage server,
 * local grid).
 *
 * Their hot paths hold Buffers for a while (segments queued for the codec,
 * blocks waiting for a storage socket, request bodies being written), so
 * most Buffers outlive two scavenges and end in the old generation. V8
 * counts the external bytes allocated since the last full collection
 * against the old generation's limit, and with its own growing factor a
 * helper's ~24 MB heap got a full mark-compact every ~23 MB of promoted
 * Buffers: 46 per 256 MiB put in the helper, 7 per storage server, each
 * freeing almost nothing. Letting the old generation grow to 3x its live
 * size between full collections cut that to 4-5 and 2, and the put's CPU
 * from 62-76 to 46-51 CPU-s/GiB, with the same peak RSS (bench e2e, 256 MiB).
 */
import v8 from 'node:v8';
import { v8FlagUnlessGiven } from './v8-flag.js';

/** Old generation limit = live size x (1 + this / 100) after each full collection. */
export const SERVICE_HEAP_GROWING_PERCENT = 200;

/** The flag tuneHeapForService sets, or undefined when the process was started with its own. */
export function serviceHeapFlag(execArgv: readonly string[]): string | undefined {
  return v8FlagUnlessGiven('--heap-growing-percent', SERVICE_HEAP_GROWING_PERCENT, execArgv);
}

/**
 * Applies SERVICE_HEAP_GROWING_PERCENT unless the process was started with
 * its own `--heap-growing-percent` (0 there restores V8's adaptive factor).
 * Process-wide, worker threads included: only the CLI's service commands
 * call it, never the libraries.
 */
export function tuneHeapForService(execArgv: readonly string[] = process.execArgv): void {
  const flag = serviceHeapFlag(execArgv);
  if (flag) v8.setFlagsFromString(flag);
}

/**
 * The environment the systemd units of the helper and the storage server
 * (deploy/systemd/) start them with, and the bench starts its services with.
 * Both act only at process start, so `ferry helper` and `ferry storage`
 * cannot set them themselves. In alternated bench e2e runs, at the same CPU:
 * the helper's peak RSS from 197-223 to 178-190 MiB in 256 MiB puts and from
 * 226-227 to 191 MiB in 1 GiB puts; each storage server's from 124-125 to
 * 96 MiB (mean of ten, 256 MiB puts).
 *
 * - `--max-semi-space-size=2`: V8's young generation otherwise grows to
 *   2 x 16 MiB, almost all of it garbage between scavenges (2-14 MiB in use).
 * - `MALLOC_ARENA_MAX=1`: the helper's codec workers allocate the coded
 *   blocks and its main thread frees them after the push; in a malloc arena
 *   of their own, ~30 MiB of free space there was not reused by the main
 *   thread's allocations.
 */
export const SERVICE_PROCESS_ENV = { NODE_OPTIONS: '--max-semi-space-size=2', MALLOC_ARENA_MAX: '1' } as const;

/** `base` with SERVICE_PROCESS_ENV set; options already in `base.NODE_OPTIONS` stay, after ours, so theirs win. */
export function withServiceProcessEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const nodeOptions = [SERVICE_PROCESS_ENV.NODE_OPTIONS, base.NODE_OPTIONS].filter((o) => o !== undefined && o.trim() !== '').join(' ');
  return { ...base, ...SERVICE_PROCESS_ENV, NODE_OPTIONS: nodeOptions };
}
