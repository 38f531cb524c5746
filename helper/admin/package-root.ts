import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest directory at or above `from` that holds a package.json. */
export function findPackageRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; ) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
}

let version: string | undefined;

/** Ferry's version, from its package.json. */
export function packageVersion(): string {
  if (version === undefined) {
    try {
      version = String((JSON.parse(readFileSync(path.join(findPackageRoot(), 'package.json'), 'utf8')) as { version?: unknown }).version ?? 'unknown');
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

/**
 * The admin page's static files. tsc does not copy them to dist/, so they are
 * served from the source folder: helper/admin/page under the package root
 * (a copy next to the compiled module, if a build step adds one, wins).
 */
export function pageDir(): string {
  const here = path.join(path.dirname(fileURLToPath(import.meta.url)), 'page');
  if (existsSync(path.join(here, 'index.html'))) return here;
  return path.join(findPackageRoot(), 'helper', 'admin', 'page');
}
