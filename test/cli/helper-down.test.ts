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

beforeAll(async () => {
  await ensureBuilt();
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  await new Promise((resolve) => server.close(resolve));
  nowhere = ['--helper', url, '--token', 'some-token-0123456789abcdef'];
  ({ dir, cleanup } = await tempDir('ferry-cli-helper-down-'));
  await writeFile(path.join(dir, 'f'), 'data');
}, 120_000);
afterAll(() => cleanup());

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
    expect(r.stderr.toString().trim().split('\n')).toEqual([expect.stringMatching(/^ferry: helper http:\/\/127\.0\.0\.1:\d+: connection failed \(connect ECONNREFUSED/)]);
  });
});
