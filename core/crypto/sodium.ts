import type sodiumModule from 'libsodium-wrappers-sumo';

type Sodium = typeof sodiumModule;

let ready: Promise<Sodium> | undefined;
let loaded: Sodium | undefined;

/**
 * libsodium initialises asynchronously (WASM); every user awaits this once.
 * The module itself is imported here, on first use, not when this file is:
 * its source and WASM instance cost a process ~14 MiB of RSS, and the storage
 * server, most CLI commands and a helper that serves no download never use it.
 */
export function loadSodium(): Promise<Sodium> {
  ready ??= import('libsodium-wrappers-sumo').then(async ({ default: sodium }) => {
    await sodium.ready;
    loaded = sodium;
    return sodium;
  });
  return ready;
}

/** The sodium object, for code that already awaited {@link loadSodium}. */
export function sodiumSync(): Sodium {
  if (!loaded) throw new Error('libsodium used before loadSodium() resolved');
  return loaded;
}
