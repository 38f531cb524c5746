import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { HelperCalls } from '../support/helper-client.js';
import { checkBody, prepare } from '../support/prepare.js';
import { CLIENT_TOKEN, GRID_TOKEN, portOf, startHelperProc, startStorage, until, type Drill, type Proc } from './lib.js';

const MiB = 1024 * 1024;

/** Holding-dir quota and storage reserved space: clear 507s, no partial garbage, recovery when space returns. */
export function diskFullDrill(sizeMiB: number): Drill {
  return {
    name: `disk full: helper quota and storage reserved space (${sizeMiB} MiB)`,
    async run(ctx) {
      const dirs = Array.from({ length: 10 }, (_, i) => path.join(ctx.dir, `s${i}`));
      // Every storage server keeps a petabyte free: nothing fits.
      let storage: Proc[] = [];
      for (const d of dirs) storage.push(await startStorage(d, { extra: ['--reserved-space', '1P'] }));
      const servers = storage.map((s) => ({ url: s.url, token: GRID_TOKEN }));
      const size = sizeMiB * MiB;
      const helper = await startHelperProc(ctx.dir, { storageServers: servers, limits: { holdingQuota: Math.floor(size * 1.5) } });
      const h = new HelperCalls(helper.url, CLIENT_TOKEN);
      try {
        const a = await prepare(randomBytes(size), { k: 3, n: 10, maxSegmentSize: 256 * 1024 });
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
        // Space returns: the same servers, same ports, no reservation.
        await Promise.all(storage.map((s) => s.kill('SIGTERM')));
        storage = [];
        for (let i = 0; i < dirs.length; i++) storage.push(await startStorage(dirs[i], { port: portOf(servers[i].url) }));
        const done = await h.waitFor(a.si, ['done'], 120_000);
        ctx.check('when space returns the retried job succeeds', done.state === 'done');
        const again = await h.check(checkBody(b));
        ctx.check('and the quota is free again for the next upload', again.json.status === 'send', String(again.json.status ?? again.json.error));
      } finally {
        await helper.kill();
        await Promise.all(storage.map((s) => s.kill()));
      }
    },
  };
}

function expect(ctx: { check(w: string, ok: boolean, d?: string): void }, what: string, ok: boolean): void {
  ctx.check(what, ok);
}
