import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, ensureBuilt, ROOT } from '../support/cli.js';
import { CLIENT_TOKEN, startGrid, type TestGrid } from '../support/grid.js';
import { npmEnv, OFFLINE_FLAGS, packageVersion, packTarball, runCommand, unpackWithLocalDependencies } from '../support/npm.js';
import { tempDir } from '../support/tmp.js';
import { StorageClient } from '../../storage/client.js';

/**
 * What a user of the published package meets: `npm pack`, then the tarball
 * installed into a fresh project (import, types, a round trip) and globally
 * into a prefix (`ferry` on PATH running the docs' commands as written).
 */
let work: { dir: string; cleanup(): Promise<void> } | undefined;
let tarball: string;

beforeAll(async () => {
  await ensureBuilt();
  work = await tempDir('ferry-pack-');
  tarball = await packTarball(work.dir);
}, 300_000);

afterAll(async () => {
  await work?.cleanup();
});

/** npm install with the offline flags; without the cache (or a registry), the tarball unpacked over this checkout's dependencies. */
async function install(args: string[], cwd: string, fallback: () => Promise<void>): Promise<'npm' | 'unpacked'> {
  const r = await runCommand('npm', ['install', ...OFFLINE_FLAGS, ...args], { cwd, env: npmEnv() });
  if (r.code === 0) return 'npm';
  console.warn(`npm install ${args.join(' ')} failed; unpacking the tarball over the checkout's node_modules instead:\n${r.out.slice(-2000)}`);
  await fallback();
  return 'unpacked';
}

const PROGRAM = `import { readFile, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { download, upload, type UploadResult } from 'ferry';

const helperUrl = process.env.HELPER_URL!;
const token = process.env.TOKEN!;
const data = Buffer.from('Ferry, used from code. '.repeat(40_000));
await writeFile('input.bin', data);
const fromPath: UploadResult = await upload('input.bin', { helperUrl, token });
const fromStream = await upload(Readable.from([data]), { helperUrl, token });
await download(fromPath.cap, 'copy.bin', { helperUrl });
const same = (await readFile('copy.bin')).equals(data) && fromStream.cap === fromPath.cap;
// @ts-expect-error a number is not an upload input (the declarations are real, not any)
void (() => upload(42, { helperUrl, token }));
console.log(JSON.stringify({ cap: fromPath.cap, same }));
`;

describe('the packed tarball', () => {
  it('installs into a fresh project where `import { upload, download } from "ferry"` typechecks and round-trips a file', async () => {
    const grid: TestGrid = await startGrid();
    try {
      const proj = path.join(work!.dir, 'project');
      await mkdir(proj);
      await writeFile(path.join(proj, 'package.json'), JSON.stringify({ name: 'uses-ferry', private: true, type: 'module' }));
      // The checkout's compiler checks the project; Node's types come with the install, as a user would add them.
      const how = await install([tarball, `@types/node@${await packageVersion('@types/node')}`], proj, async () => {
        const nm = path.join(proj, 'node_modules');
        await rm(nm, { recursive: true, force: true });
        await unpackWithLocalDependencies(tarball, nm);
        await mkdir(path.join(nm, '@types'), { recursive: true });
        await symlink(path.join(ROOT, 'node_modules', '@types', 'node'), path.join(nm, '@types', 'node'));
      });
      const pkg = JSON.parse(await readFile(path.join(proj, 'node_modules', 'ferry', 'package.json'), 'utf8')) as { exports: unknown };
      expect(pkg.exports).toBeDefined();
      await stat(path.join(proj, 'node_modules', 'ferry', 'dist', 'client', 'index.d.ts'));

      await writeFile(path.join(proj, 'main.ts'), PROGRAM);
      const tsconfig = { compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: ['node'], skipLibCheck: false, outDir: '.' }, files: ['main.ts'] };
      await writeFile(path.join(proj, 'tsconfig.json'), JSON.stringify(tsconfig));
      const tsc = await runCommand(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], { cwd: proj });
      expect(tsc.out, `tsc (installed by ${how})`).toBe('');
      expect(tsc.code).toBe(0);

      // State dir left to its default: HOME (and XDG_STATE_HOME) point into the project.
      const ran = await runCommand(process.execPath, ['main.js'], { cwd: proj, env: cliEnv(proj, { HELPER_URL: grid.helper.url, TOKEN: CLIENT_TOKEN }) });
      expect(ran.code, ran.out).toBe(0);
      const result = JSON.parse(ran.out.trim().split('\n').pop()!) as { cap: string; same: boolean };
      expect(result.cap).toMatch(/^ferry-chk:/);
      expect(result.same).toBe(true);
      await stat(path.join(proj, '.state', 'ferry', 'convergence-secret'));
    } finally {
      await grid.close();
    }
  }, 300_000);

  it('`npm install -g` puts `ferry` on PATH, and the docs\' `ferry token` and `ferry storage` commands work as written', async () => {
    const prefix = path.join(work!.dir, 'prefix');
    const how = await install(['-g', '--prefix', prefix, tarball], work!.dir, async () => {
      const pkg = await unpackWithLocalDependencies(tarball, path.join(prefix, 'lib', 'node_modules'));
      await mkdir(path.join(prefix, 'bin'), { recursive: true });
      await symlink(path.join(pkg, 'dist', 'bin', 'ferry.js'), path.join(prefix, 'bin', 'ferry'));
    });
    const root = path.join(work!.dir, 'root'); // stands for / in the docs' paths
    const env = cliEnv(work!.dir, { PATH: `${path.join(prefix, 'bin')}${path.delimiter}${process.env.PATH ?? ''}` });
    const help = await runCommand('sh', ['-c', 'ferry --help'], { cwd: work!.dir, env });
    expect(help.code, `${how}: ${help.out}`).toBe(0);

    const steps = docsCommands(await readFile(path.join(ROOT, 'docs', 'operations.md'), 'utf8'));
    expect(steps.filter((s) => s.command.startsWith('ferry storage')).length).toBeGreaterThanOrEqual(3);
    expect(steps.some((s) => s.command.startsWith('ferry token new'))).toBe(true);
    for (const step of steps) {
      const command = localize(step.command, root);
      if (step.config) {
        await mkdir(path.dirname(localize(step.config.file, root)), { recursive: true });
        await writeFile(localize(step.config.file, root), localize(step.config.json, root));
      }
      for (const dir of ['etc/ferry', 'var/lib/ferry', 'srv']) await mkdir(path.join(root, dir), { recursive: true });
      if (command.startsWith('ferry storage')) {
        // Told to use the grid token's file (flag or config), the server must accept that token.
        const shared = /grid-token/.test(command) || /"tokenFile"/.test(step.config?.json ?? '') ? path.join(root, 'etc', 'ferry', 'grid-token') : undefined;
        const out = await serveOnce(command, env, root, async (url) => {
          if (!shared) return;
          // The printed address carries the server's key pin; the storage client verifies it.
          const client = new StorageClient({ url, token: (await readFile(shared, 'utf8')).trim() });
          try {
            await expect(client.info(), `${command}: the grid token from ${shared}`).resolves.toBeTruthy();
          } finally {
            await client.close();
          }
        });
        expect(out, command).toMatch(/ferry storage: listening on https:\/\/127\.0\.0\.1:\d+\/#spki=[a-z2-7]+ /);
      } else {
        const r = await runCommand('sh', ['-c', command], { cwd: root, env });
        expect(r.code, `${command}\n${r.out}`).toBe(0);
      }
    }
    const token = path.join(root, 'etc', 'ferry', 'grid-token');
    expect((await stat(token)).mode & 0o777).toBe(0o600);
    expect((await readFile(token, 'utf8')).trim()).toMatch(/^[A-Za-z0-9]{32,}$/);
  }, 300_000);
});

interface Step {
  command: string;
  /** The JSON file the command reads (`--config F`), as the docs show it last before the command. */
  config?: { file: string; json: string };
}

/** `ferry token …` (first) and `ferry storage …` lines of the docs' sh blocks, each with the config it names. */
function docsCommands(md: string): Step[] {
  const steps: Step[] = [];
  let lastJson: string | undefined;
  for (const block of md.matchAll(/```(\w+)\n([\s\S]*?)```/g)) {
    if (block[1] === 'json') lastJson = block[2];
    if (block[1] !== 'sh') continue;
    for (const raw of block[2].split('\n')) {
      const command = raw.replace(/\s+#.*$/, '').trim();
      if (!/^ferry (storage|token) /.test(command)) continue;
      const file = /--config (\S+)/.exec(command)?.[1];
      steps.push({ command, ...(file && lastJson ? { config: { file, json: lastJson } } : {}) });
    }
  }
  return [...steps.filter((s) => s.command.startsWith('ferry token')), ...steps.filter((s) => !s.command.startsWith('ferry token'))];
}

/** The docs' absolute paths under `root`, their ports made ephemeral. */
function localize(text: string, root: string): string {
  return text
    .replace(/(^|[\s"=])\/(etc|var|srv)\//g, `$1${root}/$2/`)
    .replace(/--port \d+/g, '--port 0')
    .replace(/"port": \d+/g, '"port": 0');
}

/** Runs a server command until it says it listens, calls `probe` with its URL, then stops it with SIGTERM; its output. */
async function serveOnce(command: string, env: NodeJS.ProcessEnv, cwd: string, probe: (url: string) => Promise<void>): Promise<string> {
  const child = spawn('sh', ['-c', `exec ${command}`], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 30_000;
    while (!out.includes('listening on') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const url = /listening on (https:\/\/\S+)/.exec(out)?.[1];
    if (url) await probe(url);
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    const code = await exited;
    out += `\n(exit ${code})`;
  }
  return out;
}
