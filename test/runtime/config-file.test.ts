import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigFileError, loadConfigFile } from '../../runtime/config-file.js';
import { tempDir } from '../support/tmp.js';

const Schema = z.strictObject({
  dir: z.string(),
  port: z.number().int().min(0).max(65535).default(1234),
  limits: z.strictObject({ workers: z.number().int().min(1) }).prefault({ workers: 1 }),
});

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

async function configFile(content: string): Promise<string> {
  await mkdir(path.join(dir, 'etc'), { recursive: true });
  const file = path.join(dir, 'etc', 'app.json');
  await writeFile(file, content);
  return file;
}

/** The one-line message of the ConfigFileError `load` fails with. */
async function failure(load: Promise<unknown>): Promise<string> {
  const err = await load.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigFileError);
  const message = (err as ConfigFileError).message;
  expect(message.split('\n')).toHaveLength(1);
  return message;
}

describe('runtime/config-file', () => {
  it('validates, applies defaults and resolves path keys against the file’s directory', async () => {
    const file = await configFile(JSON.stringify({ dir: 'data' }));
    expect(await loadConfigFile(file, { schema: Schema, label: 'test', pathKeys: ['dir'] })).toEqual({ dir: path.join(dir, 'etc', 'data'), port: 1234, limits: { workers: 1 } });
    const absolute = await configFile(JSON.stringify({ dir: '/srv/data' }));
    expect((await loadConfigFile(absolute, { schema: Schema, label: 'test', pathKeys: ['dir'] })).dir).toBe('/srv/data');
  });

  it('lets overrides win over the file, ignoring undefined ones', async () => {
    const file = await configFile(JSON.stringify({ dir: 'data', port: 80 }));
    const config = await loadConfigFile(file, { schema: Schema, label: 'test', pathKeys: ['dir'], overrides: { port: 0, dir: undefined } });
    expect(config).toMatchObject({ dir: path.join(dir, 'etc', 'data'), port: 0 });
  });

  it('names the file and the field in one line', async () => {
    const load = (file: string) => loadConfigFile(file, { schema: Schema, label: 'test' });
    expect(await failure(load(path.join(dir, 'missing.json')))).toMatch(/^cannot read test config file .*missing\.json: /);
    expect(await failure(load(await configFile('{"dir": ')))).toMatch(/^test config file .*app\.json is not valid JSON: /);
    expect(await failure(load(await configFile('[1, 2]')))).toMatch(/^test config file .*app\.json must hold a JSON object$/);
    expect(await failure(load(await configFile(JSON.stringify({ dir: 'x', limits: { workers: 0 } }))))).toMatch(/^test config file .*app\.json: limits\.workers: /);
    expect(await failure(load(await configFile(JSON.stringify({ dir: 'x', colour: 'blue' }))))).toMatch(/app\.json: \(root\): .*colour/);
  });

  it('reports an error thrown by a parse function after validation', async () => {
    const file = await configFile(JSON.stringify({ dir: 'x' }));
    const schema = {
      parse(input: unknown) {
        const config = Schema.parse(input);
        if (config.port < 2000) throw new Error('port must be at least 2000');
        return config;
      },
    };
    expect(await failure(loadConfigFile(file, { schema, label: 'test' }))).toMatch(/^test config file .*app\.json: port must be at least 2000$/);
  });
});
