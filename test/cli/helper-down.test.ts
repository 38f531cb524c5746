import net from 'node:net';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, ensureBuilt, ferry } from '../support/cli.js';
import { tempDir } from '../support/tmp.js';

/** A helper that is not there: put and get give up after the same short connect policy, and say they retry. */
const CAP = `ferry-chk:${'a'.repeat(52)}:${'a'.repeat(52)}:3:10:1000`;
let dir: string;
let cleanup: () => Promise<void>;
let nowhere: string[];
let holder: net.Server;

beforeAll(async () => {
  await ensureBuilt();
  // Nothing listens on 127.0.0.2:PORT, and holding PORT on 127.0.0.1 keeps the parallel tests'
  // servers from taking it (a freed port was once reused by another test: "other side closed").
  holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.2:${(holder.address() as net.AddressInfo).port}`;
  nowhere = ['--helper', url, '--token', 'some-token-0123456789abcdef'];
  ({ dir, cleanup } = await tempDir('ferry-cli-helper-down-'));
  await writeFile(path.join(dir, 'f'), 'data');
}, 120_000);
afterAll(async () => {
  await new Promise((resolve) => holder.close(resolve));
  await cleanup();
});

describe('a helper that is down', () => {
  it('get retries twice, saying so, then exits 1 with the reason (as put does), not minutes later', async () => {
    const r = await ferry(['get', CAP, '-o', 'out', '--debug', ...nowhere], { cwd: dir, env: cliEnv(dir) });
    expect(r.code).toBe(1);
    const err = r.stderr.toString();
    expect(err).toMatch(/^ferry: retrying \(1\/2\)… download: connection failed/m);
    expect(err).toMatch(/^ferry: retrying \(2\/2\)…/m);
    expect(err).not.toMatch(/retrying \(3\//);
    expect(err).toMatch(/connection failed \(connect ECONNREFUSED/);
  });

  it('put gives up after the same connect policy', async () => {
    const r = await ferry(['put', 'f', ...nowhere], { cwd: dir, env: cliEnv(dir) });
    expect(r.code).toBe(1);
    expect(r.stderr.toString().trim().split('\n')).toEqual([expect.stringMatching(/^ferry: helper http:\/\/127\.0\.0\.2:\d+: connection failed \(connect ECONNREFUSED/)]);
  });
});

describe('a port already in use', () => {
  it('ferry storage says which port and what to do (exit 1), not a raw EADDRINUSE', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as net.AddressInfo).port;
      const r = await ferry(['storage', '--dir', 'data', '--port', String(port), '--log-level', 'silent'], { cwd: dir, env: cliEnv(dir) });
      expect(r.code).toBe(1);
      expect(r.stderr.toString().trim().split('\n')).toEqual([`ferry: port ${port} on 127.0.0.1 is in use (another ferry storage?); pick another with --port (0 picks a free one)`]);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('ferry storage without --dir is a usage error (exit 2)', async () => {
    const r = await ferry(['storage', '--port', '0'], { cwd: dir, env: cliEnv(dir) });
    expect(r.code).toBe(2);
    expect(r.stderr.toString()).toMatch(/^ferry: a data directory is required/);
  });
});

describe('ferry --version and help', () => {
  it('prints the version, and subcommand help shows the global options and examples', async () => {
    const v = await ferry(['--version'], { cwd: dir, env: cliEnv(dir) });
    expect(v.code).toBe(0);
    expect(v.stdout.toString()).toMatch(/^\d+\.\d+\.\d+/);
    const h = await ferry(['get', '--help'], { cwd: dir, env: cliEnv(dir) });
    expect(h.code).toBe(0);
    expect(h.stdout.toString()).toMatch(/Global Options:[\s\S]*--helper <url>/);
    expect(h.stdout.toString()).toMatch(/Examples:\n {2}ferry get ferry-chk:\.\.\. -o photo\.jpg/);
    expect((await ferry(['put', '--help'], { cwd: dir, env: cliEnv(dir) })).stdout.toString()).toMatch(/a bare number is seconds/);
  });
});
