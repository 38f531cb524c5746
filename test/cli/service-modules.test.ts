import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, ensureBuilt, ferry, startFerry, stopSpawned } from '../support/cli.js';
import { tempDir } from '../support/tmp.js';

beforeAll(ensureBuilt, 120_000);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await stopSpawned();
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * Packages a process never uses but would carry for its lifetime: their
 * sources and instances cost each of them ~5-14 MiB of RSS (a grid runs ten
 * storage servers), and loading them doubled `ferry --version`'s start-up.
 * node-forge only issues certificates, libsodium only serves the client's
 * hashing and the gateway's first download, undici is the client side of
 * HTTP, and pino-pretty formats logs for a terminal.
 */
const ISSUING_ONLY = 'node-forge';
const NEVER_IN_A_SERVICE = ['libsodium-wrappers-sumo', 'libsodium-sumo', 'pino-pretty'];

/** Runs ferry with a module hook that appends every package it resolves to `log`. */
async function moduleLogEnv(dir: string, log: string): Promise<NodeJS.ProcessEnv> {
  const hook = path.join(dir, 'module-hook.mjs');
  const register = path.join(dir, 'module-register.mjs');
  await writeFile(
    hook,
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  const m = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url);
  if (m) appendFileSync(${JSON.stringify(log)}, m[1] + '\\n');
  return r;
}
`,
  );
  await writeFile(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hook).href)});\n`);
  const env = cliEnv(dir);
  return { ...env, NODE_OPTIONS: [env.NODE_OPTIONS, `--import=${pathToFileURL(register).href}`].filter(Boolean).join(' ') };
}

async function packagesIn(log: string): Promise<Set<string>> {
  return new Set((await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean));
}

describe('what a process loads', () => {
  it('a storage server loads neither the HTTP client, libsodium nor (once its certificate exists) node-forge', async () => {
    const { dir, cleanup } = await tempDir('ferry-cli-modules-');
    cleanups.push(cleanup);
    const runOnce = async (log: string) => {
      const s = await startFerry(['storage', '--dir', 'data', '--port', '0', '--log-level', 'silent'], { cwd: dir, env: await moduleLogEnv(dir, log), ready: 'listening on' });
      s.child.kill('SIGINT');
      expect(await s.exited).toBe(0);
      return packagesIn(log);
    };
    const first = await runOnce(path.join(dir, 'first.log'));
    // The first start issues the certificate: the hook sees node-forge, so it does see lazily loaded packages.
    expect(first.has(ISSUING_ONLY)).toBe(true);
    expect(first.has('express')).toBe(true);
    const second = await runOnce(path.join(dir, 'second.log'));
    for (const name of [ISSUING_ONLY, 'undici', ...NEVER_IN_A_SERVICE]) expect(second.has(name), name).toBe(false);
  });

  it('a helper loads neither libsodium nor node-forge until it needs them', async () => {
    const { dir, cleanup } = await tempDir('ferry-cli-modules-');
    cleanups.push(cleanup);
    const config = path.join(dir, 'helper.json');
    await writeFile(config, JSON.stringify({ dataDir: 'data', port: 0, clientTokens: ['modules-test-token-0123456789'] }));
    const log = path.join(dir, 'helper.log');
    const h = await startFerry(['helper', '--config', config, '--log-level', 'silent'], { cwd: dir, env: await moduleLogEnv(dir, log), ready: 'listening on' });
    h.child.kill('SIGINT');
    expect(await h.exited).toBe(0);
    const loaded = await packagesIn(log);
    expect(loaded.has('@tus/server')).toBe(true);
    for (const name of [ISSUING_ONLY, ...NEVER_IN_A_SERVICE]) expect(loaded.has(name), name).toBe(false);
  });

  it('`ferry --version` loads no command\'s heavy modules', async () => {
    const { dir, cleanup } = await tempDir('ferry-cli-modules-');
    cleanups.push(cleanup);
    const log = path.join(dir, 'version.log');
    const r = await ferry(['--version'], { cwd: dir, env: await moduleLogEnv(dir, log) });
    expect(r.code).toBe(0);
    const loaded = await packagesIn(log);
    expect(loaded.has('commander')).toBe(true);
    for (const name of [ISSUING_ONLY, 'undici', 'express', '@tus/server', 'level', ...NEVER_IN_A_SERVICE]) expect(loaded.has(name), name).toBe(false);
  });
});
