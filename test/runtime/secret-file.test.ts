import { stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readOrCreateSecretFile } from '../../runtime/fs/secret-file.js';
import { tempDir } from '../support/tmp.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

describe('runtime/fs/secret-file', () => {
  it('generates a private secret once and keeps it', async () => {
    const file = path.join(dir, 'private', 'admin-token');
    let generated = 0;
    const generate = () => `secret-${++generated}`;
    expect(await readOrCreateSecretFile(file, generate)).toEqual({ text: 'secret-1', created: true });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    expect(await readOrCreateSecretFile(file, generate)).toEqual({ text: 'secret-1', created: false });
  });

  it('lets concurrent first uses agree on one secret', async () => {
    const file = path.join(dir, 'grid-token');
    let generated = 0;
    const results = await Promise.all(Array.from({ length: 5 }, () => readOrCreateSecretFile(file, () => `secret-${++generated}`)));
    expect(new Set(results.map((r) => r.text)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });
});
