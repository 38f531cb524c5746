import { isDeepStrictEqual } from 'node:util';
import type { HelperConfig } from './config.js';
import { clientIdOf } from './http/client-auth.js';

/**
 * What a config reload (SIGHUP) may change while the helper serves: the
 * client tokens (rotation) and the storage servers. Everything else (ports,
 * dataDir, limits, defaults, the admin token) is read once at start; a
 * reload that changes it says so and leaves it for the next restart.
 */
export const RELOADABLE_KEYS = ['clientTokens', 'storageServers'] as const;

export interface ReloadReport {
  clientTokens: {
    /** Ids (SHA-256 prefixes, as jobs record them) of tokens accepted from now on, and of those no longer accepted. */
    added: string[];
    removed: string[];
    count: number;
  };
  storageServers: { added: string[]; removed: string[]; retokened: string[]; count: number };
  /** Keys that differ from the running config but only take effect at a restart. */
  needRestart: string[];
}

/** Keys (dotted, one level into objects) whose values differ and cannot change without a restart. */
export function restartOnlyChanges(running: HelperConfig, next: HelperConfig): string[] {
  const out: string[] = [];
  const reloadable = new Set<string>(RELOADABLE_KEYS);
  const keys = new Set([...Object.keys(running), ...Object.keys(next)]) as Set<keyof HelperConfig>;
  for (const key of keys) {
    if (reloadable.has(key) || isDeepStrictEqual(running[key], next[key])) continue;
    const a = running[key];
    const b = next[key];
    if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a)) {
      const sub = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const k of sub) if (!isDeepStrictEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) out.push(`${key}.${k}`);
    } else {
      out.push(key);
    }
  }
  return out.sort();
}

/** Token ids added and removed between two lists (the tokens themselves are never logged). */
export function tokenChanges(running: readonly string[], next: readonly string[]): ReloadReport['clientTokens'] {
  const before = new Set(running);
  const after = new Set(next);
  return {
    added: [...after].filter((t) => !before.has(t)).map(clientIdOf),
    removed: [...before].filter((t) => !after.has(t)).map(clientIdOf),
    count: after.size,
  };
}
