import { spawn } from 'node:child_process';
import { chmod, mkdir, readFile, symlink } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from './cli.js';

export interface Ran {
  code: number | null;
  out: string;
}

/** Runs a command to its end, output (stdout + stderr) collected. */
export function runCommand(cmd: string, args: string[], o: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: o.cwd, env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** npm's environment without what `npm test` sets for its scripts (a global prefix, the command being run). */
export function npmEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const keep = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig']);
  for (const [k, v] of Object.entries(process.env)) if (!k.toLowerCase().startsWith('npm_') || keep.has(k.toLowerCase())) env[k] = v;
  return { ...env, ...extra };
}

/** `npm pack` of this checkout (already built: no prepare script) into `dest`; the tarball's path. */
export async function packTarball(dest: string): Promise<string> {
  const r = await runCommand('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest], { cwd: ROOT, env: npmEnv() });
  if (r.code !== 0) throw new Error(`npm pack failed:\n${r.out}`);
  const json = r.out.slice(r.out.indexOf('['));
  const [{ filename }] = JSON.parse(json) as { filename: string }[];
  return path.join(dest, filename);
}

/** Flags of every install here: from the npm cache when it has the package (CI ran `npm ci`), no lifecycle scripts. */
export const OFFLINE_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'];

export async function packageVersion(name: string): Promise<string> {
  return (JSON.parse(await readFile(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Without npm's cache or a registry, the tarball is unpacked by hand and its
 * dependencies taken from this checkout's node_modules: what is tested is
 * then the tarball's content (exports, declarations, bin), not npm's fetch.
 */
export async function unpackWithLocalDependencies(tarball: string, nodeModules: string): Promise<string> {
  const pkg = path.join(nodeModules, 'ferry');
  await mkdir(pkg, { recursive: true });
  const r = await runCommand('tar', ['xzf', tarball, '-C', pkg, '--strip-components=1'], { cwd: nodeModules });
  if (r.code !== 0) throw new Error(`tar failed:\n${r.out}`);
  await symlink(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
  await chmod(path.join(pkg, 'dist', 'bin', 'ferry.js'), 0o755);
  return pkg;
}
