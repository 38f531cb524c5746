import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { HelperCalls } from '../support/helper-client.js';
import { checkBody, prepare, type PreparedFile } from '../support/prepare.js';
import { startProxy } from '../support/proxy.js';
import { reassemble } from '../support/reassemble.js';
import { CLIENT_TOKEN, GRID_TOKEN, stableAddresses, startHelperProc, startStorage, until, type Drill, type DrillContext, type Proc } from './lib.js';

const MiB = 1024 * 1024;

/** Uploads over a throttled link so the pipelined push is under way when `during` runs. */
async function uploadWhile(helperUrl: string, f: PreparedFile, during: () => Promise<void>): Promise<void> {
  const h = new HelperCalls(helperUrl, CLIENT_TOKEN);
  await h.check(checkBody(f));
  const slow = await startProxy(helperUrl, { bytesPerSecond: Math.max(MiB, (f.geometry.size / 3) | 0) });
  const sending = new HelperCalls(slow.url, CLIENT_TOKEN).patch(f.si, 0, f.ciphertext);
  await until(async () => (Number((await h.job(f.si)).json.segmentsEncoded) > 0 ? true : undefined), 60_000, 'push under way');
  await during();
  await sending;
  await slow.close();
}

/** Storage servers killed mid-push: up to n - happy → success with happiness >= happy; more → a clear failure, then recovery. */
export function storageKillDrill(sizeMiB: number): Drill {
  return {
    name: `storage servers kill -9 mid-push (${sizeMiB} MiB)`,
    async run(ctx: DrillContext) {
      const dirs = Array.from({ length: 10 }, (_, i) => path.join(ctx.dir, `s${i}`));
      const storage: Proc[] = [];
      const { fronts, close: closeFronts } = await stableAddresses(dirs.length);
      for (let i = 0; i < dirs.length; i++) storage.push(await startStorage(dirs[i], { front: fronts[i] }));
      const servers = fronts.map((f) => ({ url: f.url, token: GRID_TOKEN }));
      const helper = await startHelperProc(ctx.dir, { storageServers: servers });
      const h = new HelperCalls(helper.url, CLIENT_TOKEN);
      try {
        // n - happy = 3 servers die mid-push.
        const plain = randomBytes(sizeMiB * MiB);
        const a = await prepare(plain, { k: 3, n: 10, maxSegmentSize: 256 * 1024 });
        await uploadWhile(helper.url, a, async () => {
          await Promise.all([storage[0], storage[4], storage[8]].map((s) => s.kill()));
          ctx.log('killed 3 storage servers mid-push');
        });
        const job = await h.waitFor(a.si, ['done', 'failed'], 120_000);
        const result = job.result as { happiness: number; uebHash: string; shareMap: Record<string, string[]> } | undefined;
        ctx.check('with 3 of 10 servers killed the upload succeeds', job.state === 'done', String(job.lastError ?? ''));
        ctx.check('happiness is at least happy (7)', (result?.happiness ?? 0) >= 7, `happiness ${result?.happiness}`);
        const alive = storage.filter((_, i) => ![0, 4, 8].includes(i)).map((s) => s.url);
        const back = result && (await reassemble({ urls: alive, token: GRID_TOKEN, si: a.si, key: a.key, uebHash: Buffer.from(result.uebHash, 'hex') }));
        ctx.check('the file decodes from the surviving servers alone', Boolean(back?.equals(plain)));

        // Restart those 3 (behind the addresses the helper knows); then 4 die mid-push: happiness can reach 6 at most.
        for (const i of [0, 4, 8]) storage[i] = await startStorage(dirs[i], { front: fronts[i] });
        const plain2 = randomBytes(sizeMiB * MiB);
        const b = await prepare(plain2, { k: 3, n: 10, maxSegmentSize: 256 * 1024 });
        const doomed = [1, 3, 5, 7];
        await uploadWhile(helper.url, b, async () => {
          await Promise.all(doomed.map((i) => storage[i].kill()));
          ctx.log('killed 4 storage servers mid-push');
        });
        const failed = await until(async () => {
          const j = (await h.job(b.si)).json;
          return j.state === 'failed' || j.state === 'done' ? j : undefined;
        }, 120_000, 'the job to fail');
        ctx.check('with 4 of 10 servers killed the job fails instead of claiming success', failed.state === 'failed' && failed.result === undefined, String(failed.state));
        ctx.check('the failure says how many servers and shares and why', /happiness \d < happy 7/.test(String(failed.lastError)), String(failed.lastError));
        // Space and servers return: the retry succeeds.
        for (const i of doomed) storage[i] = await startStorage(dirs[i], { front: fronts[i] });
        const recovered = await h.waitFor(b.si, ['done'], 120_000);
        ctx.check('once the servers are back, the retried job succeeds', recovered.state === 'done');
        const r2 = recovered.result as { uebHash: string };
        const back2 = await reassemble({ urls: storage.map((s) => s.url), token: GRID_TOKEN, si: b.si, key: b.key, uebHash: Buffer.from(r2.uebHash, 'hex') });
        ctx.check('and the file decodes byte-identical', back2.equals(plain2));
      } finally {
        await helper.kill();
        await Promise.all(storage.map((s) => s.kill()));
        await closeFronts();
      }
    },
  };
}
