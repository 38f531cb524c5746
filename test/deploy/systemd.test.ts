import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_PROCESS_ENV } from '../../runtime/heap.js';
import { ensureBuilt, FERRY_BIN, ROOT } from '../support/cli.js';
import { requireDependency, skipWithout } from '../support/required.js';
import { tempDir } from '../support/tmp.js';

const ANALYZE = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
const UNITS = path.join(ROOT, 'deploy', 'systemd');
/** Where the units expect `npm install -g` to have put the command. */
const INSTALLED = '/usr/local/bin/ferry';

/**
 * The units of docs/operations.md "Deploying", checked by systemd itself.
 * `verify` also wants ExecStart's program to exist: the copies checked here
 * run this checkout's build instead of INSTALLED, nothing else changed.
 */
describe.skipIf(skipWithout(ANALYZE !== undefined))('deploy/systemd units', () => {
  let work: { dir: string; cleanup(): Promise<void> } | undefined;

  beforeAll(async () => {
    requireDependency(ANALYZE !== undefined, 'systemd-analyze (Debian package systemd)');
    await ensureBuilt();
    work = await tempDir('ferry-units-');
    for (const unit of ['ferry-helper.service', 'ferry-storage@.service']) {
      const text = await readFile(path.join(UNITS, unit), 'utf8');
      expect(text).toContain(`ExecStart=${INSTALLED} `);
      await writeFile(path.join(work.dir, unit), text.replaceAll(INSTALLED, `${process.execPath} ${FERRY_BIN}`));
    }
  }, 300_000);

  afterAll(async () => {
    await work?.cleanup();
  });

  it('systemd-analyze verify accepts the helper unit and a storage instance without a warning', () => {
    const r = spawnSync(ANALYZE!, ['verify', '--man=no', 'ferry-helper.service', 'ferry-storage@8090.service'], { cwd: work!.dir, encoding: 'utf8' });
    // Other units of the machine may draw warnings of their own; ours must draw none.
    const ours = `${r.stdout}${r.stderr}`.split('\n').filter((l) => /ferry/.test(l));
    expect(ours).toEqual([]);
    expect(r.status).toBe(0);
  });

  it('the units run the commands the docs describe: reload is SIGHUP, storage instances are ports', async () => {
    const helper = await readFile(path.join(UNITS, 'ferry-helper.service'), 'utf8');
    const storage = await readFile(path.join(UNITS, 'ferry-storage@.service'), 'utf8');
    expect(helper).toMatch(/^ExecStart=\/usr\/local\/bin\/ferry helper --config \/etc\/ferry\/helper\.json$/m);
    expect(helper).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    expect(storage).toMatch(/^ExecStart=\/usr\/local\/bin\/ferry storage --config \/etc\/ferry\/storage\.json --dir \/var\/lib\/ferry\/storage-%i --port %i$/m);
    const docs = await readFile(path.join(ROOT, 'docs', 'operations.md'), 'utf8');
    expect(docs).toContain('ferry-storage@.service');
    expect(docs).toContain('systemctl reload ferry-helper');
  });
});

/** Needs no systemd: the memory settings the bench measures the services with are the units' own. */
describe('deploy/systemd units: process environment', () => {
  it.each(['ferry-helper.service', 'ferry-storage@.service'])('%s starts the service with SERVICE_PROCESS_ENV', async (unit) => {
    const text = await readFile(path.join(UNITS, unit), 'utf8');
    const environment = Object.fromEntries(
      text
        .split('\n')
        .filter((line) => line.startsWith('Environment='))
        .map((line) => {
          const assignment = line.slice('Environment='.length);
          const eq = assignment.indexOf('=');
          return [assignment.slice(0, eq), assignment.slice(eq + 1)];
        }),
    );
    for (const [variable, value] of Object.entries(SERVICE_PROCESS_ENV)) expect(environment[variable], variable).toBe(value);
  });
});
