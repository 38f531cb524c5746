import sodiumModule from 'libsodium-wrappers-sumo';

type Sodium = typeof sodiumModule;

let ready: Promise<Sodium> | undefined;

/** libsodium initialises asynchronously (WASM); every user awaits this once. */
export function loadSodium(): Promise<Sodium> {
  ready ??= sodiumModule.ready.then(() => sodiumModule);
  return ready;
}

/** The sodium object, for code that already awaited {@link loadSodium}. */
export function sodiumSync(): Sodium {
  if (!ready) throw new Error('libsodium used before loadSodium() resolved');
  return sodiumModule;
}
