/**
 * Starting a worker thread from a module that may run compiled (dist/*.js) or
 * from its .ts sources (vitest, tsx). The same approach as core/erasure/pool.ts
 * (core may not import runtime, so it keeps its own copy).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** URL of tsx's ESM register API, found through tsx's package.json exports. */
function tsxApiUrl(): string {
  const pkgPath = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports?: Record<string, { import?: { default?: string } }> };
  const rel = pkg.exports?.['./esm/api']?.import?.default ?? './dist/esm/api/index.mjs';
  return pathToFileURL(join(dirname(pkgPath), rel)).href;
}

/**
 * Starts the worker module `name` (without extension) that sits next to the
 * module whose `import.meta.url` is `here`. Compiled, that is `name.js`. From
 * the .ts sources, `name.ts` needs tsx's loader, and on Node 20 `--import tsx`
 * in a worker's execArgv does not cover the worker's own entry module, so a
 * tiny bootstrap registers tsx and then imports it.
 */
export function startWorker(here: string, name: string): Worker {
  if (!here.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, here));
  const entry = new URL(`./${name}.ts`, here).href;
  const boot = `import(${JSON.stringify(tsxApiUrl())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { eval: true });
}
