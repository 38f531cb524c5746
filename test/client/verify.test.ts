import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Journal } from '../../client/journal.js';
import { upload } from '../../client/upload.js';
import { cliEnv, ensureBuilt, ferry } from '../support/cli.js';
import { startFakeHelper } from '../support/fake-helper.js';
import { tempDir } from '../support/tmp.js';

const TOKEN = 'fake-helper-token-0123456789';
const cleanups: (() => Promise<void>)[] = [];
beforeAll(ensureBuilt, 120_000);
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function fixture(tamper: Parameters<typeof startFakeHelper>[0]['tamper'], answer: 'have-it' | 'send') {
  const fake = await startFakeHelper({ tamper, answer, token: TOKEN });
  const t = await tempDir('ferry-verify-');
  cleanups.push(() => fake.close(), t.cleanup);
  const file = path.join(t.dir, 'f');
  await writeFile(file, randomBytes(300_000));
  return { fake, dir: t.dir, file, opts: { helperUrl: fake.url, token: TOKEN, stateDir: path.join(t.dir, 'state'), pollIntervalMs: 20 } };
}

describe("the client verifies the helper's result before issuing a cap", () => {
  for (const answer of ['send', 'have-it'] as const) {
    it(`refuses a ${answer} result whose UEB commits to another crypttext root`, async () => {
      const { fake, file, opts } = await fixture('crypttext-root', answer);
      await expect(upload(file, opts)).rejects.toMatchObject({ code: 'INTEGRITY_ERROR', message: expect.stringMatching(/crypttext root .* no capability was issued/) });
      if (answer === 'send') expect(fake.patches).toBeGreaterThan(0);
      const [record] = await new Journal(path.join(opts.stateDir, 'journal')).list();
      expect(record).toMatchObject({ state: 'failed', lastError: expect.stringContaining('crypttext root') });
    });
  }

  it('refuses a UEB that does not hash to the claimed uebHash, and one with other parameters', async () => {
    const a = await fixture('ueb-hash', 'have-it');
    await expect(upload(a.file, a.opts)).rejects.toMatchObject({ code: 'INTEGRITY_ERROR', message: expect.stringContaining('not the claimed') });
    const b = await fixture('k', 'have-it');
    await expect(upload(b.file, b.opts)).rejects.toMatchObject({ code: 'INTEGRITY_ERROR', message: expect.stringContaining('UEB k is 4, expected 3') });
    // The same double without tampering is accepted: the checks are not vacuous.
    const c = await fixture('none', 'send');
    await expect(upload(c.file, c.opts)).resolves.toMatchObject({ outcome: 'uploaded', cap: expect.stringMatching(/^ferry-chk:/) });
  });

  it('ferry put prints no capability, one error line and exits 1', async () => {
    const { fake, dir, file } = await fixture('crypttext-root', 'send');
    const r = await ferry(['put', file, '--helper', fake.url, '--token', TOKEN], { cwd: dir, env: cliEnv(dir) });
    expect(r.code).toBe(1);
    expect(r.stdout.toString()).toBe('');
    const lines = r.stderr.toString().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ferry: the helper's result does not match this file: UEB crypttext root is [0-9a-f]{64}, but/);
  });
});
