import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, ensureBuilt, ferry, startFerry } from '../support/cli.js';
import { tempDir } from '../support/tmp.js';

beforeAll(ensureBuilt, 120_000);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const TOKEN = 'helper-cli-token-0123456789';

describe('ferry helper', () => {
  it('runs from a config file (flags override it, dataDir relative to it) and stops on SIGINT', async () => {
    const { dir, cleanup } = await tempDir('ferry-cli-helper-');
    cleanups.push(cleanup);
    await mkdir(path.join(dir, 'etc'));
    const config = path.join(dir, 'etc', 'helper.json');
    await writeFile(config, JSON.stringify({ dataDir: 'data', port: 1, clientTokens: [TOKEN], defaults: { k: 2, n: 4, happy: 3 } }));
    const h = await startFerry(['helper', '--config', config, '--port', '0', '--log-level', 'silent'], { cwd: dir, env: cliEnv(dir), ready: 'listening on' });
    cleanups.push(async () => {
      if (h.child.exitCode === null) h.child.kill('SIGKILL');
    });
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)\/helper\/v1/.exec(h.output())![1];
    const info = await fetch(`${url}/helper/v1/info`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(info.status).toBe(200);
    expect(await info.json()).toMatchObject({ protocolVersion: 1, defaults: { k: 2, n: 4, happy: 3 } });
    expect(existsSync(path.join(dir, 'etc', 'data'))).toBe(true);
    h.child.kill('SIGINT');
    expect(await h.exited).toBe(0);
  });

  it('refuses a bad config with one line and exit code 2', async () => {
    const { dir, cleanup } = await tempDir('ferry-cli-helper-');
    cleanups.push(cleanup);
    const config = path.join(dir, 'helper.json');
    await writeFile(config, JSON.stringify({ dataDir: 'data', clientTokens: ['short'] }));
    const r = await ferry(['helper', '--config', config], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr.toString().trim().split('\n')).toEqual([expect.stringMatching(/^ferry: helper config .*helper\.json: clientTokens\.0: /)]);
  });
});
