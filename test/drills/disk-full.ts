import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { HelperCalls } from '../support/helper-client.js';
import { checkBody, prepare } from '../support/prepare.js';
import { reassemble } from '../support/reassemble.js';
import { CLIENT_TOKEN, GRID_TOKEN, stableAddresses, startHelperProc, startStorage, until, type Drill, type Proc } from './lib.js';

const MiB = 1024 * 1024;

/** Holding-dir quota and storage reserved space: clear 507s, no partial garbage, recovery when space returns. */
export function diskFullDrill(sizeMiB: number): Drill {
  return {
    name: `disk full: helper quota and storage reserved space (${sizeMiB} MiB)`,
    async run(ctx) {
      const dirs = Array.from({ length: 10 }, (_, i) => path.join(ctx.dir, `s${i}`));
      let storage: Proc[] = [];
      let helper: Proc | undefined;
      const { fronts, close: closeFronts } = await stableAddresses(dirs.length);
      try {
        // Every storage server keeps a petabyte free: nothing fits.
        for (let i = 0; i < dirs.length; i++) storage.push(await startStorage(dirs[i], { front: fronts[i], extra: ['--reserved-space', '1P'] }));
        const servers = fronts.map((f) => ({ url: f.url, token: GRID_TOKEN }));
        const size = sizeMiB * MiB;
        helper = await startHelperProc(ctx.dir, { storageServers: servers, limits: { holdingQuota: Math.floor(size * 1.5) } });
        const h = new HelperCalls(helper.url, CLIENT_TOKEN);
        const plainA = randomBytes(size);
        const a = await prepare(plainA, { k: 3, n: 10, maxSegmentSize: 256 * 1024 });
        const b = await prepare(randomBytes(size), { k: 3, n: 10, maxSegmentSize: 256 * 1024 });
        expect(ctx, 'the first upload fits the holding quota', (await h.check(checkBody(a))).json.status === 'send');
        const refused = await h.check(checkBody(b));
        ctx.check('a second one beyond the quota gets 507 QUOTA_EXCEEDED', refused.status === 507 && refused.json.error === 'QUOTA_EXCEEDED', String(refused.json.message));
        const spoolB = path.join(ctx.dir, 'helper', 'incoming', `${b.si}.ct`);
        ctx.check('the refused upload left no spool file', !existsSync(spoolB));
        await h.patch(a.si, 0, a.ciphertext);
        const failed = await until(async () => {
          const j = (await h.job(a.si)).json;
          return j.state === 'failed' ? j : undefined;
        }, 60_000, 'the push to fail');
        ctx.check('storage servers out of space make the job fail with their 507 reason', /INSUFFICIENT_STORAGE|space|507/i.test(String(failed.lastError)), String(failed.lastError).slice(0, 200));
        ctx.check('and no result is claimed', failed.result === undefined);
        const garbage = await sharesAndPartials(dirs, a.si);
        ctx.check('no storage dir holds a share or a partial share of the refused upload', garbage.length === 0, garbage.slice(0, 3).join(', '));
        // Space returns: the same servers (behind the addresses the helper knows), no reservation.
        await Promise.all(storage.map((s) => s.kill('SIGTERM')));
        storage = [];
        for (let i = 0; i < dirs.length; i++) storage.push(await startStorage(dirs[i], { front: fronts[i] }));
        const done = await h.waitFor(a.si, ['done'], 120_000);
        ctx.check('when space returns the retried job succeeds', done.state === 'done');
        const back = await reassemble({ urls: servers.map((s) => s.url), token: GRID_TOKEN, si: a.si, key: a.key, uebHash: Buffer.from((done.result as { uebHash: string }).uebHash, 'hex') });
        ctx.check('and the file decodes byte-identical from the grid', back.equals(plainA));
        const after = await sharesAndPartials(dirs, a.si);
        const left = after.filter((p) => p.includes(`${path.sep}incoming${path.sep}`));
        // The positive control for the emptiness check above: the same walk finds the stored shares.
        ctx.check('the walk of the storage dirs finds the 10 stored shares', after.length - left.length >= 10, `${after.length - left.length}`);
        ctx.check('and no partial share is left behind in any storage dir', left.length === 0, left.slice(0, 3).join(', '));
        const again = await h.check(checkBody(b));
        ctx.check('and the quota is free again for the next upload', again.json.status === 'send', String(again.json.status ?? again.json.error));
      } finally {
        await helper?.kill();
        await Promise.all(storage.map((s) => s.kill()));
        await closeFronts();
      }
    },
  };
}

/** Every file under the storage dirs' shares/ and incoming/ trees that belongs to storage index `si`. */
async function sharesAndPartials(dirs: string[], si: string): Promise<string[]> {
  const found: string[] = [];
  for (const d of dirs) {
    for (const sub of [path.join(d, 'shares', si.slice(0, 2), si), path.join(d, 'incoming', si)]) {
      const names = await readdir(sub).catch(() => [] as string[]);
      found.push(...names.map((n) => path.join(sub, n)));
    }
  }
  return found;
}

function expect(ctx: { check(w: string, ok: boolean, d?: string): void }, what: string, ok: boolean): void {
  ctx.check(what, ok);
}
