import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FerryError } from '../../../core/errors.js';
import { formatStorageIndex } from '../../../core/storage-index.js';
import { validateCheck, type CheckLimits } from '../../../helper/intake/check-request.js';
import { CheckValidator, INLINE_BODY_BYTES } from '../../../helper/intake/check-validator.js';

const limits: CheckLimits = { maxFileSize: 1024 ** 4, minSegmentSize: 64 * 1024, maxSegments: 2 ** 20, maxCodedSegmentBytes: 256 * 1024 * 1024 };
const SEGMENTS = 4096; // a body of ~175 KiB: validated in the worker
const check = (segmentHashes: string, segments = SEGMENTS) => ({
  storageIndex: formatStorageIndex(randomBytes(16)),
  size: segments * 64 * 1024,
  k: 4,
  n: 10,
  happy: 7,
  maxSegmentSize: 64 * 1024,
  segmentHashes,
});
const raw = (body: unknown) => Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));

let validator: CheckValidator;
afterEach(() => validator?.close());

async function failure(p: Promise<unknown>): Promise<FerryError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(FerryError);
  return err as FerryError;
}

describe('CheckValidator: raw check bodies validated in a worker thread', () => {
  it('gives what validateCheck gives for a large body, in order for several at once', async () => {
    validator = new CheckValidator(limits);
    const bodies = [0, 1, 2].map(() => check(randomBytes(SEGMENTS * 32).toString('base64')));
    expect(raw(bodies[0]).length).toBeGreaterThan(INLINE_BODY_BYTES);
    const got = await Promise.all(bodies.map((b) => validator.validate(raw(b))));
    for (const [i, b] of bodies.entries()) {
      const want = await validateCheck(b, limits);
      expect(got[i]!.si).toBe(want.si);
      expect(got[i]!.crypttextRoot).toBe(want.crypttextRoot);
      expect(got[i]!).toEqual(want);
      expect(Buffer.from(got[i]!.hashes).equals(want.hashes)).toBe(true);
    }
  });

  it('answers bad bodies with the codes and messages of the inline checks', async () => {
    validator = new CheckValidator(limits);
    const pad = ' '.repeat(INLINE_BODY_BYTES);
    const malformed = await failure(validator.validate(raw(`{"storageIndex": ${pad}`)));
    expect(malformed.code).toBe('BAD_REQUEST');
    expect(malformed.message).toMatch(/JSON/);
    const notBase64 = await failure(validator.validate(raw(check('!'.repeat(SEGMENTS * 44)))));
    expect([notBase64.code, notBase64.message]).toEqual(['BAD_REQUEST', 'segmentHashes must be base64']);
    const short = await failure(validator.validate(raw(check(randomBytes((SEGMENTS - 1) * 32).toString('base64')))));
    expect(short.code).toBe('INVALID_PARAMETERS');
    expect(short.message).toMatch(/^expected 4096 segment hashes/);
    const schema = await failure(validator.validate(raw({ ...check(randomBytes(SEGMENTS * 32).toString('base64')), k: 'three' })));
    expect(schema.code).toBe('BAD_REQUEST');
    expect(schema.message).toMatch(/^k: /);
    // The same body small enough to be checked inline gets the same answer.
    const inline = await failure(validator.validate(raw('{"storageIndex": ')));
    expect(inline.code).toBe('BAD_REQUEST');
  });

  it('fails the check whose worker died with INTERNAL, and starts a new worker for the next', async () => {
    validator = new CheckValidator(limits);
    const body = check(randomBytes(2 ** 16 * 32).toString('base64'), 2 ** 16);
    const pending = validator.validate(raw(body));
    const worker = Reflect.get(validator, 'worker') as { terminate(): Promise<number> };
    await worker.terminate();
    const died = await failure(pending);
    expect(died.code).toBe('INTERNAL');
    expect((await validator.validate(raw(body))).si).toBe(body.storageIndex);
  });

  it('stops an idle worker and starts a new one for the next large check', async () => {
    validator = new CheckValidator(limits, 20);
    const body = check(randomBytes(SEGMENTS * 32).toString('base64'));
    expect((await validator.validate(raw(body))).si).toBe(body.storageIndex);
    await vi.waitFor(() => expect(validator.workerRunning).toBe(false), { timeout: 5_000, interval: 10 });
    const again = check(randomBytes(SEGMENTS * 32).toString('base64'));
    expect((await validator.validate(raw(again))).si).toBe(again.storageIndex);
  });

  it('refuses checks after close', async () => {
    validator = new CheckValidator(limits);
    await validator.close();
    expect((await failure(validator.validate(raw(check(''))))).code).toBe('UNAVAILABLE');
  });
});
