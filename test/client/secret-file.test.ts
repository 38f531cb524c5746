/**
 * The convergence-secret file (docs/format.md sections 2 and 12): 52
 * lowercase base32 characters and a newline, so another implementation can
 * share a client's secret and so its deduplication.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConvergenceSecret } from '../../client/state-dir.js';
import { base32Decode, base32Encode } from '../../core/base32.js';
import { tempDir } from '../support/tmp.js';
import { convergenceSecretOf } from '../vectors/compute.js';

describe('convergence-secret file', () => {
  it('is written as 52 lowercase base32 characters and a newline, and read back as the same 32 bytes', async () => {
    const t = await tempDir();
    try {
      const secret = await loadConvergenceSecret(t.dir);
      const text = await readFile(path.join(t.dir, 'convergence-secret'), 'utf8');
      expect(text).toMatch(/^[a-z2-7]{52}\n$/);
      expect(Buffer.from(base32Decode(text.trim(), 32, 'INVALID_PARAMETERS', 'secret')).equals(Buffer.from(secret))).toBe(true);
    } finally {
      await t.cleanup();
    }
  });

  it('one written by another program in that form is used as is', async () => {
    const t = await tempDir();
    try {
      const vector = convergenceSecretOf();
      await writeFile(path.join(t.dir, 'convergence-secret'), `${base32Encode(vector)}\n`, { mode: 0o600 });
      expect(Buffer.from(await loadConvergenceSecret(t.dir)).equals(vector)).toBe(true);
    } finally {
      await t.cleanup();
    }
  });
});
