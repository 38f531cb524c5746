import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Node's cipher hands back every update's output in a fresh malloc'ed
 * buffer, dead as soon as it is copied (hashing pass) or written to the
 * socket (upload). V8 frees such buffers only at a GC, and starts one for
 * external memory only once ~64 MiB more is held than after its last full
 * collection: the client's peak RSS carried up to ~70 MiB of dead cipher
 * output (bench: 143 MiB at 1 GiB, 166 at 4 GiB). A young-generation
 * collection every few MiB of output frees them while they are still young;
 * the hashing pass measured the same CPU with it as without.
 */
export const GC_PACE_BYTES = 4 * 1024 * 1024;

type Collect = () => void;
type GcFunction = (o: { type: 'minor' | 'major' }) => void;

let collect: Collect | undefined;
let produced = 0;

/**
 * Turns pacing on for the process. It exposes V8's gc() to one private vm
 * context (the flag is set and cleared again around it), so only the CLI
 * calls it, never the library on its own. `custom` replaces the collector
 * (tests).
 */
export function enableGcPacing(custom?: Collect): void {
  produced = 0;
  if (custom) {
    collect = custom;
    return;
  }
  if (collect) return;
  let gc = (globalThis as { gc?: GcFunction }).gc; // started with --expose-gc
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as GcFunction;
    v8.setFlagsFromString('--no-expose-gc');
  }
  const minor = gc;
  collect = () => minor({ type: 'minor' });
}

export function disableGcPacing(): void {
  collect = undefined;
  produced = 0;
}

/** Reports `bytes` of short-lived buffers; collects the young generation every GC_PACE_BYTES. */
export function producedGarbage(bytes: number): void {
  if (!collect) return;
  produced += bytes;
  if (produced < GC_PACE_BYTES) return;
  produced = 0;
  collect();
}
