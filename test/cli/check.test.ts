/**
 * `ferry check` and `ferry repair` as a user runs them (the compiled CLI
 * against a real grid): healthy and unhealthy files, --verify finding a
 * corrupt share, repair fixing both, exit codes and --json.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, ensureBuilt, ferry } from '../support/cli.js';
import { corruptBlock, putFile, shareFiles, type StoredFile } from '../support/gateway-fixture.js';
import { CLIENT_TOKEN, startGrid, type TestGrid } from '../support/grid.js';
import { deleteShares, download, verifyCapText } from '../support/repair.js';
import { tempDir } from '../support/tmp.js';

let grid: TestGrid;
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  await ensureBuilt();
  grid = await startGrid({ servers: 11 });
  ({ dir, cleanup } = await tempDir('ferry-check-cli-'));
}, 180_000);
afterAll(async () => {
  await grid?.close();
  await cleanup?.();
});

const run = (args: string[]) => ferry([...args, '--helper', grid.helper.url, '--token', CLIENT_TOKEN], { cwd: dir, env: cliEnv(dir) });
const put = (): Promise<StoredFile> => putFile(grid, randomBytes(3 * 64 * 1024 + 5));

describe('ferry check', () => {
  it('says healthy (exit 0), and lists where the shares are', async () => {
    const f = await put();
    const r = await run(['check', f.cap]);
    expect(r.code, r.stderr.toString()).toBe(0);
    const out = r.stdout.toString();
    expect(out).toMatch(/^health: +healthy$/m);
    expect(out).toMatch(/shares: +10 of 10 good, on 10 servers, happiness 10/);
    expect(out).toContain(verifyCapText(f));
    expect(out).not.toContain(f.cap); // the read-cap is never printed
    const json = await run(['check', verifyCapText(f), '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout.toString())).toMatchObject({ healthy: true, happiness: 10, k: 3, n: 10, missing: [] });
  });

  it('says not healthy (exit 1) with the missing shares; ferry repair fixes it', async () => {
    const f = await put();
    await deleteShares(grid, f.f.si, [3, 7]);
    const r = await run(['check', f.cap, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout.toString())).toMatchObject({ healthy: false, recoverable: true, missing: [3, 7], goodShares: 8 });
    expect(r.stderr.toString()).toMatch(/ferry: the file is not healthy \(shares 3, 7 without a good copy\); run ferry repair/);

    const rep = await run(['repair', f.cap]);
    expect(rep.code, rep.stderr.toString()).toBe(0);
    expect(rep.stdout.toString()).toMatch(/^repaired: +regenerated shares 3, 7$/m);
    expect(rep.stdout.toString()).toMatch(/^now: +10 share numbers on 10 servers, happiness 10: healthy$/m);
    expect(rep.stdout.toString()).toMatch(/^leases: +renewed on 10 servers$/m);
    expect((await run(['check', f.cap])).code).toBe(0);
    expect((await download(grid.helper.url, f.cap)).equals(f.plain)).toBe(true);
  });

  it('--verify finds a corrupt share that the quick check misses; repair replaces it', async () => {
    const f = await put();
    const victim = (await shareFiles(grid, f.f.si)).find((x) => x.shnum === 1)!;
    await corruptBlock(victim.file, f, 1);
    expect((await run(['check', f.cap])).code).toBe(0);
    const r = await run(['check', f.cap, '--verify']);
    expect(r.code).toBe(1);
    expect(r.stdout.toString()).toMatch(/^corrupt: +share 1 on \S+ \(https:\/\/127\.0\.0\.1:\d+\/#spki=[a-z2-7]{52}\): .*(block|leaf) 1\b.*\(reported to the server\)$/m);
    expect(r.stdout.toString()).toMatch(/^missing: +share 1$/m);
    const rep = await run(['repair', f.cap, '--json']);
    expect(rep.code, rep.stderr.toString()).toBe(0);
    const outcome = JSON.parse(rep.stdout.toString());
    expect(outcome).toMatchObject({ state: 'done', storageIndex: f.f.si, result: { repaired: [1], healthy: true, happiness: 10 } });
    expect(outcome.result.corrupt).toEqual([expect.objectContaining({ shnum: 1 })]);
    // Healthy. The old bad copy is still there (no delete in the storage API) and still shown as bad, even by a quick check.
    for (const args of [['check', f.cap, '--verify', '--json'], ['check', f.cap, '--json']]) {
      const after = await run(args);
      expect(after.code).toBe(0);
      const report = JSON.parse(after.stdout.toString());
      expect(report.corrupt).toEqual([expect.objectContaining({ shnum: 1, server: outcome.result.corrupt[0].server })]);
      expect(report.shares['1']).toHaveLength(1);
    }
  });

  it('repair with k-1 shares left: exit 1 and a clear error', async () => {
    const f = await put();
    await deleteShares(grid, f.f.si, [0, 1, 2, 3, 4, 5, 6, 7]);
    const c = await run(['check', f.cap]);
    expect(c.code).toBe(1);
    expect(c.stdout.toString()).toMatch(/NOT HEALTHY, NOT RECOVERABLE \(2 of the 3 shares needed\)/);
    const r = await run(['repair', f.cap]);
    expect(r.code).toBe(1);
    expect(r.stderr.toString()).toMatch(/^ferry: repair of \w+ failed: not enough shares to repair: found 2 good shares of the 3 needed/m);
  });

  it('bad capabilities are usage errors (exit 2); --no-wait only queues', async () => {
    const bad = await run(['check', 'ferry-chk:nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.toString()).toMatch(/capability/);
    expect((await run(['repair', 'nope'])).code).toBe(2);
    const f = await put();
    const q = await run(['repair', verifyCapText(f), '--no-wait']);
    expect(q.code, q.stderr.toString()).toBe(0);
    expect(q.stdout.toString()).toMatch(/^repair (queued|already \w+): \/helper\/v1\/jobs\/[a-z2-7]{26}$/m);
  });
});
