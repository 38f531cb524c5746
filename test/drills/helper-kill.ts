import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { StorageClient } from '../../storage/client.js';
import { HelperCalls } from '../support/helper-client.js';
import { startProxy } from '../support/proxy.js';
import { checkBody, prepare } from '../support/prepare.js';
import { reassemble } from '../support/reassemble.js';
import { CLIENT_TOKEN, GRID_TOKEN, startHelperProc, startStorage, until, type Drill, type Proc } from './lib.js';

const MiB = 1024 * 1024;

/** Counts, over all servers, how many servers hold each share number. */
async function shareCopies(urls: string[], si: string): Promise<Map<number, number>> {
  const copies = new Map<number, number>();
  for (const url of urls) {
    const c = new StorageClient({ url, token: GRID_TOKEN });
    for (const s of await c.list(si)) copies.set(s, (copies.get(s) ?? 0) + 1);
    await c.close();
  }
  return copies;
}

/** Helper `kill -9` while receiving, while encoding and while pushing: every job finishes, nothing lost, nothing duplicated. */
export function helperKillDrill(sizeMiB: number): Drill {
  return {
    name: `helper kill -9 while receiving, encoding and pushing (${sizeMiB} MiB)`,
    async run(ctx) {
      const storage: Proc[] = [];
      let helper: Proc | undefined;
      try {
        for (let i = 0; i < 10; i++) storage.push(await startStorage(path.join(ctx.dir, `s${i}`)));
        const servers = storage.map((s) => ({ url: s.url, token: GRID_TOKEN }));
        helper = await startHelperProc(ctx.dir, { storageServers: servers });
        const plain = randomBytes(sizeMiB * MiB);
        const f = await prepare(plain, { k: 3, n: 10, maxSegmentSize: 256 * 1024 });
        let h = new HelperCalls(helper.url, CLIENT_TOKEN);
        /** Kills the helper and restarts it; checks the kill hit unfinished work (before it, and as the new helper sees it). */
        const killAndRestart = async (when: string) => {
          const before = String((await h.job(f.si)).json.state);
          await helper!.kill();
          helper = await startHelperProc(ctx.dir, { storageServers: servers });
          h = new HelperCalls(helper.url, CLIENT_TOKEN);
          const after = String((await h.job(f.si)).json.state);
          ctx.check(`the kill ${when} landed before the job was done`, before !== 'done' && after !== 'done', `state ${before} at the kill, ${after} after the restart`);
        };
        await h.check(checkBody(f));
        // 1. killed in the middle of a PATCH (a throttled link makes "the middle" last)
        const slow = await startProxy(helper.url, { bytesPerSecond: Math.max(MiB, (f.geometry.size / 4) | 0) });
        const sending = new HelperCalls(slow.url, CLIENT_TOKEN).patch(f.si, 0, f.ciphertext).catch(() => undefined);
        const third = Math.floor(f.geometry.size / 3);
        await until(async () => ((await h.job(f.si)).json.received as number) >= third || undefined, 60_000, 'a third received');
        const acknowledged = Number((await h.job(f.si)).json.received);
        await killAndRestart('while receiving');
        await sending;
        await slow.close();
        ctx.log(`killed while receiving, ${acknowledged} bytes acknowledged`);
        const resumed = await h.check(checkBody(f));
        const offset = Number(resumed.json.offset);
        ctx.check('after the restart the helper still has every byte it acknowledged', resumed.json.status === 'send' && offset >= acknowledged, `offset ${offset} >= ${acknowledged}`);
        ctx.check('it never claims bytes it did not verify', offset < f.geometry.size && offset % f.geometry.segmentSize === 0, `offset ${offset}`);
        await h.patch(f.si, offset, f.ciphertext.subarray(offset));
        // 2. killed while encoding / pushing (the first job state that shows progress)
        await until(async () => {
          const j = (await h.job(f.si)).json;
          return Number(j.segmentsEncoded) > 2 || j.state === 'done' ? j : undefined;
        }, 60_000, 'encoding progress');
        await killAndRestart('while encoding and pushing');
        // 3. once more, right away, in the middle of the resumed push
        await until(async () => {
          const j = (await h.job(f.si)).json;
          return j.state === 'encoding' || j.state === 'done' ? j : undefined;
        }, 60_000, 'resumed job');
        await killAndRestart('in the resumed push');
        const job = await h.waitFor(f.si, ['done', 'failed'], 120_000);
        ctx.check('the job finished after three kills', job.state === 'done', String(job.lastError ?? job.state));
        const result = job.result as { uebHash: string; happiness: number };
        const back = await reassemble({ urls: servers.map((s) => s.url), token: GRID_TOKEN, si: f.si, key: f.key, uebHash: Buffer.from(result.uebHash, 'hex') });
        ctx.check('the file decodes byte-identical from the grid', back.equals(plain));
        const copies = await shareCopies(servers.map((s) => s.url), f.si);
        ctx.check('all 10 shares are stored', copies.size === 10, `${copies.size}`);
        ctx.check('no share was pushed twice to different servers', [...copies.values()].every((c) => c === 1), JSON.stringify([...copies]));
      } finally {
        await helper?.kill();
        await Promise.all(storage.map((s) => s.kill()));
      }
    },
  };
}
