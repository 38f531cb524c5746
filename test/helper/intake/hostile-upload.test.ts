/**
 * Two client tokens on one storage index (issue 13): a victim uploads, an
 * attacker with a valid token checks in other segment hashes for the same
 * index. The victim's upload must end in a file that downloads byte for byte,
 * and the attacker must get 409 while the upload is alive and after it is done.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_TOKEN, startGrid, type TestGrid } from '../../support/grid.js';
import { HelperCalls } from '../../support/helper-client.js';
import { download, impostor, OTHER_TOKEN, readCapOf } from '../../support/hostile.js';
import { checkBody, prepare } from '../../support/prepare.js';

const PARAMS = { k: 2, n: 5, maxSegmentSize: 4096 };
const HAPPY = 4;

describe('an upload in progress cannot be taken over by another token', () => {
  let grid: TestGrid;
  let victim: HelperCalls;
  let attacker: HelperCalls;

  beforeAll(async () => {
    grid = await startGrid({ servers: 5, helper: { clientTokens: [CLIENT_TOKEN, OTHER_TOKEN] } });
    victim = new HelperCalls(grid.helper.url, CLIENT_TOKEN);
    attacker = new HelperCalls(grid.helper.url, OTHER_TOKEN);
  });
  afterAll(async () => grid?.close());

  it('answers 409 to other hashes while receiving, and the victim downloads its own bytes', async () => {
    const plaintext = randomBytes(3 * 4096 + 100);
    const file = await prepare(plaintext, PARAMS);
    const seg = file.geometry.segmentSize;
    expect((await victim.check(checkBody(file, HAPPY))).json.status).toBe('send');
    expect((await victim.patch(file.si, 0, file.ciphertext.subarray(0, seg))).offset).toBe(seg);

    const fake = impostor(file);
    const taken = await attacker.check(checkBody(fake, HAPPY));
    expect(taken.status).toBe(409);
    expect(taken.json.error).toBe('CONFLICT');
    // Nothing changed: the victim resumes where it was.
    expect((await victim.check(checkBody(file, HAPPY))).json).toMatchObject({ status: 'send', offset: seg });

    expect((await victim.patch(file.si, seg, file.ciphertext.subarray(seg))).status).toBe(204);
    const job = await victim.waitFor(file.si);
    expect(job.state).toBe('done');
    const result = job.result as { uebHash: string };
    const got = await download(grid.helper.url, readCapOf(file, result.uebHash));
    expect(got.status).toBe(200);
    expect(got.body.equals(plaintext)).toBe(true);

    // Finished: a different root is still 409, never have-it.
    const after = await attacker.check(checkBody(fake, HAPPY));
    expect(after.status).toBe(409);
    expect(after.json.error).toBe('CONFLICT');
    // The same ciphertext from another token converges.
    expect((await attacker.check(checkBody(file, HAPPY))).json.status).toBe('have-it');
  });

  it('keeps another token from reading, stealing or terminating an upload; a token with the same hashes may resume it', async () => {
    const file = await prepare(randomBytes(2 * 4096 + 7), PARAMS);
    const seg = file.geometry.segmentSize;
    expect((await victim.check(checkBody(file, HAPPY))).json.status).toBe('send');
    expect((await victim.patch(file.si, 0, file.ciphertext.subarray(0, seg))).offset).toBe(seg);

    const tus = (calls: HelperCalls, method: string, at = file.si) =>
      fetch(`${calls.url}/helper/v1/uploads/${at}`, { method, headers: { authorization: `Bearer ${calls.token}`, 'tus-resumable': '1.0.0' } });
    const terminate = (calls: HelperCalls) => tus(calls, 'DELETE');
    expect((await terminate(attacker)).status).toBe(403);
    // The same upload spelled otherwise: a trailing slash, a percent-encoded letter.
    expect((await tus(attacker, 'DELETE', `${file.si}/`)).status).toBe(403);
    expect((await tus(attacker, 'HEAD', `%${file.si.charCodeAt(0).toString(16)}${file.si.slice(1)}`)).status).toBe(403);
    expect((await attacker.head(file.si)).status).toBe(403);
    expect((await attacker.job(file.si)).status).toBe(403);
    expect((await attacker.patch(file.si, seg, file.ciphertext.subarray(seg))).status).toBe(403);
    expect((await victim.job(file.si)).json).toMatchObject({ state: 'receiving', received: seg });

    // Same ciphertext, other token: convergence. It may follow and resume, not terminate.
    expect((await attacker.check(checkBody(file, HAPPY))).json).toMatchObject({ status: 'send', offset: seg });
    expect((await attacker.head(file.si)).offset).toBe(seg);
    expect((await attacker.job(file.si)).status).toBe(200);
    expect((await terminate(attacker)).status).toBe(403);
    expect((await attacker.patch(file.si, seg, file.ciphertext.subarray(seg))).status).toBe(204);
    expect((await victim.waitFor(file.si)).state).toBe('done');
  });
});
