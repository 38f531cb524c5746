import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, ensureBuilt, ferry } from '../support/cli.js';
import { tempDir } from '../support/tmp.js';

let dir: string;
let cleanup: () => Promise<void>;
/** A loopback port nothing listens on: one the kernel just gave us, closed again (port 9 may be in use). */
let NOWHERE: string[];
let nowhereUrl: string;
beforeAll(async () => {
  await ensureBuilt();
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  nowhereUrl = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  await new Promise((resolve) => server.close(resolve));
  NOWHERE = ['--helper', nowhereUrl, '--token', 'some-token-0123456789abcdef'];
  ({ dir, cleanup } = await tempDir('ferry-cli-errors-'));
  await writeFile(path.join(dir, 'f'), 'data');
}, 120_000);
afterAll(() => cleanup());

const run = (args: string[]) => ferry(args, { cwd: dir, env: cliEnv(dir) });
const oneLine = (text: Buffer) => text.toString().trim().split('\n');

describe('ferry exit codes and error lines', () => {
  it('exits 2 on usage errors', async () => {
    expect((await run(['put'])).code).toBe(2);
    expect((await run(['put', 'f', '--k', 'x'])).code).toBe(2);
    expect((await run(['nonsense'])).code).toBe(2);
    const badCap = await run(['get', 'ferry-chk:nope', ...NOWHERE]);
    expect(badCap.code).toBe(2);
    expect(oneLine(badCap.stderr)).toEqual([expect.stringMatching(/^ferry: capability must have 6/)]);
    const noHelper = await run(['put', 'f']);
    expect(noHelper.code).toBe(2);
    expect(oneLine(noHelper.stderr)).toEqual([expect.stringMatching(/^ferry: no helper configured: pass --home DIR/)]);
    expect((await run(['helper'])).code).toBe(2); // --config is required
  });

  it('refuses a bad daemon setting with one line and exit code 2, before starting anything', async () => {
    const badLevel = await run(['storage', '--dir', 'data', '--port', '0', '--log-level', 'loud']);
    expect(badLevel.code).toBe(2);
    expect(badLevel.stderr.toString()).toMatch(/log level must be one of fatal, error, warn, info, debug, trace, silent/);
    const config = path.join(dir, 'storage.json');
    await writeFile(config, JSON.stringify({ dir: 'data', port: 0, reservedSpace: [] }));
    const badFile = await run(['storage', '--config', config]);
    expect(badFile.code).toBe(2);
    expect(oneLine(badFile.stderr)).toEqual([expect.stringMatching(/^ferry: storage config file .*storage\.json: reservedSpace: /)]);
    const noPort = await run(['storage', '--dir', 'data']);
    expect(noPort.code).toBe(2);
    expect(oneLine(noPort.stderr)).toEqual([expect.stringMatching(/^ferry: a port is required/)]);
  });

  it('exits 0 on --help', async () => {
    const r = await run(['put', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toContain('--random-key');
  });

  it('exits 1 with one line, no stack trace; --debug adds the stack', async () => {
    const missing = await run(['put', 'no-such-file', ...NOWHERE]);
    expect(missing.code).toBe(1);
    expect(oneLine(missing.stderr)).toEqual(['ferry: no-such-file: no such file']);
    const down = await run(['put', 'f', ...NOWHERE]);
    expect(down.code).toBe(1);
    expect(oneLine(down.stderr)).toEqual([expect.stringMatching(new RegExp(`^ferry: helper ${nowhereUrl.replace(/\./g, '\\.')}: connection failed \\(.*ECONNREFUSED`))]);
    const debug = await run(['put', 'f', ...NOWHERE, '--debug']);
    expect(debug.code).toBe(1);
    expect(debug.stderr.toString()).toMatch(/\n\s+at /);
  });

  it('status works without any configuration', async () => {
    const r = await run(['status', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout.toString())).toMatchObject({ helper: null, transfers: [] });
  });
});
