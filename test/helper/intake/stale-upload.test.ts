/**
 * What the encoder trusts (issue 13): every spooled segment is hashed again
 * against its leaf, from the job as stored now. A spool damaged on disk is
 * received again from the bad segment; an upload replaced after going stale
 * (limits.takeoverIdle) is finished from the new hashes only, even by an
 * encode that started under the old ones.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeekableCipher } from '../../../core/crypto/cipher.js';
import { MerkleTree, splitHashes } from '../../../core/merkle.js';
import { decodeUeb } from '../../../core/ueb.js';
import { CLIENT_TOKEN, startGrid, type TestGrid } from '../../support/grid.js';
import { HelperCalls } from '../../support/helper-client.js';
import { download, impostor, OTHER_TOKEN, readCapOf } from '../../support/hostile.js';
import { checkBody, prepare, type PreparedFile } from '../../support/prepare.js';

const PARAMS = { k: 2, n: 5, maxSegmentSize: 4096 };
const HAPPY = 4;

const rootOf = (f: PreparedFile) => new MerkleTree(splitHashes(f.hashes)).root.toString('hex');
const uebRoot = (job: Record<string, unknown>) => Buffer.from(decodeUeb(Buffer.from((job.result as { ueb: string }).ueb, 'base64')).crypttextRoot).toString('hex');

/** As a client does: send what the helper is missing until the job is done; returns the offsets it resent from. */
async function finish(calls: HelperCalls, f: PreparedFile): Promise<{ job: Record<string, unknown>; resent: number[] }> {
  const resent: number[] = [];
  for (let round = 0; round < 5; round++) {
    const job = await calls.waitFor(f.si, ['done', 'failed', 'receiving']);
    if (job.state === 'done') return { job, resent };
    if (job.state === 'receiving' && Number(job.received) < f.geometry.size) {
      const { json } = await calls.check(checkBody(f, HAPPY));
      const offset = Number(json.offset);
      resent.push(offset);
      expect((await calls.patch(f.si, offset, f.ciphertext.subarray(offset))).status).toBe(204);
    } else {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error(`upload of ${f.si} did not finish`);
}

describe('without pipelining, a stale upload may be replaced', () => {
  let grid: TestGrid;
  let victim: HelperCalls;
  let other: HelperCalls;

  beforeAll(async () => {
    grid = await startGrid({ servers: 5, helper: { clientTokens: [CLIENT_TOKEN, OTHER_TOKEN], limits: { pipeline: false, takeoverIdle: 0 } } });
    victim = new HelperCalls(grid.helper.url, CLIENT_TOKEN);
    other = new HelperCalls(grid.helper.url, OTHER_TOKEN);
  });
  afterAll(async () => grid?.close());

  it('receives a spooled segment again when its bytes on disk no longer match its hash', async () => {
    const plaintext = randomBytes(4 * 4096 + 11);
    const file = await prepare(plaintext, PARAMS);
    const seg = file.geometry.segmentSize;
    expect((await victim.check(checkBody(file, HAPPY))).json.status).toBe('send');
    expect((await victim.patch(file.si, 0, file.ciphertext.subarray(0, 3 * seg))).offset).toBe(3 * seg);
    // The disk flips a byte of segment 1 after it was verified.
    const spool = path.join(grid.config.dataDir, 'incoming', `${file.si}.ct`);
    const fh = await fs.open(spool, 'r+');
    await fh.write(Buffer.from([file.ciphertext[seg + 5] ^ 0xff]), 0, 1, seg + 5);
    await fh.close();
    expect((await victim.patch(file.si, 3 * seg, file.ciphertext.subarray(3 * seg))).status).toBe(204);

    const { job, resent } = await finish(victim, file);
    expect(resent).toEqual([seg]);
    const got = await download(grid.helper.url, readCapOf(file, (job.result as { uebHash: string }).uebHash));
    expect(got.status).toBe(200);
    expect(got.body.equals(plaintext)).toBe(true);
  });

  it('lets a check with other hashes replace an upload idle past takeoverIdle, which then belongs to the new token', async () => {
    const file = await prepare(randomBytes(2 * 4096 + 3), PARAMS);
    const seg = file.geometry.segmentSize;
    expect((await victim.check(checkBody(file, HAPPY))).json.status).toBe('send');
    expect((await victim.patch(file.si, 0, file.ciphertext.subarray(0, seg))).offset).toBe(seg);
    const fake = impostor(file);
    expect((await other.check(checkBody(fake, HAPPY))).json).toMatchObject({ status: 'send', offset: 0 });
    expect((await victim.head(file.si)).status).toBe(403);
    expect((await other.patch(file.si, 0, fake.ciphertext)).status).toBe(204);
    const job = await other.waitFor(file.si);
    expect(uebRoot(job)).toBe(rootOf(fake));
    // The victim learns it at its next check: a conflict, not a cap to bytes it did not send.
    expect((await victim.check(checkBody(file, HAPPY))).status).toBe(409);
  });
});

describe('with pipelining, an encode started under replaced hashes finishes nothing', () => {
  let grid: TestGrid;

  beforeAll(async () => {
    grid = await startGrid({ servers: 5, helper: { clientTokens: [CLIENT_TOKEN, OTHER_TOKEN], limits: { pipeline: true, takeoverIdle: 0 } } });
  });
  afterAll(async () => grid?.close());

  it('finishes the replacing upload with its own root, and its bytes download', async () => {
    const victim = new HelperCalls(grid.helper.url, CLIENT_TOKEN);
    const other = new HelperCalls(grid.helper.url, OTHER_TOKEN);
    const file = await prepare(randomBytes(3 * 4096 + 9), PARAMS);
    const seg = file.geometry.segmentSize;
    expect((await victim.check(checkBody(file, HAPPY))).json.status).toBe('send');
    expect((await victim.patch(file.si, 0, file.ciphertext.subarray(0, seg))).offset).toBe(seg);
    // The early encode has started under the victim's hashes.
    for (let i = 0; Number((await victim.job(file.si)).json.attempts) < 1; i++) {
      if (i > 400) throw new Error('early encode did not start');
      await new Promise((r) => setTimeout(r, 10));
    }

    const fake = impostor(file);
    expect((await other.check(checkBody(fake, HAPPY))).json).toMatchObject({ status: 'send', offset: 0 });
    expect((await other.patch(file.si, 0, fake.ciphertext)).status).toBe(204);
    const { job } = await finish(other, fake);
    expect(uebRoot(job)).toBe(rootOf(fake));
    const got = await download(grid.helper.url, readCapOf(fake, (job.result as { uebHash: string }).uebHash));
    expect(got.status).toBe(200);
    // The key of the cap over the replacing bytes: the gateway proved every segment against the UEB.
    expect(got.body.equals(new SeekableCipher(fake.key).xorAt(0, fake.ciphertext))).toBe(true);
  });
});
