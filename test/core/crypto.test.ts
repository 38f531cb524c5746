import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { cipherReady, NONCE, SeekableCipher } from '../../core/crypto/cipher.js';
import { convergentKey, ConvergentKeyHasher } from '../../core/crypto/convergent-key.js';
import { loadSodium } from '../../core/crypto/sodium.js';

let sodium: Awaited<ReturnType<typeof loadSodium>>;
beforeAll(async () => {
  sodium = await loadSodium();
  await cipherReady();
});

/** libsodium's XChaCha20 is the reference: the keystream from byte 0, sliced. */
function reference(key: Uint8Array, offset: number, data: Uint8Array): Buffer {
  const block = Math.floor(offset / 64);
  const skip = offset - block * 64;
  const padded = new Uint8Array(skip + data.length);
  padded.set(data, skip);
  return Buffer.from(sodium.crypto_stream_xchacha20_xor_ic(padded, NONCE, block, key)).subarray(skip);
}

describe('seekable cipher', () => {
  it('equals libsodium XChaCha20 at any offset (seek equivalence)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: (2 ** 31 - 64) * 64 }), // libsodium's wrapper caps its counter at 2^31
        fc.uint8Array({ minLength: 0, maxLength: 3000 }),
        (key, offset, data) => {
          const c = new SeekableCipher(key);
          expect(c.xorAt(offset, data)).toEqual(reference(key, offset, data));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a cursor fed in arbitrary chunks equals one whole-file call, and decrypts back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 5000 }), fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 20 }), (data, cuts) => {
        const key = randomBytes(32);
        const c = new SeekableCipher(key);
        const whole = c.xorAt(0, data);
        const cur = c.cursor(0);
        const parts: Buffer[] = [];
        let o = 0;
        for (const cut of cuts) {
          if (o >= data.length) break;
          parts.push(cur.update(data.subarray(o, o + cut)));
          o += cut;
        }
        parts.push(cur.update(data.subarray(o)));
        expect(Buffer.concat(parts)).toEqual(whole);
        expect(c.xorAt(0, whole)).toEqual(Buffer.from(data));
      }),
    );
  });

  it('carries the block counter past 2^32 blocks (256 GiB) like libsodium', () => {
    const key = randomBytes(32);
    const c = new SeekableCipher(key);
    const offset = 2 ** 32 * 64 - 100; // straddles the 32-bit counter wrap
    const data = randomBytes(300);
    const ours = c.xorAt(offset, data);
    // Reference for the far side: djb ChaCha20 block 2^32 under the XChaCha20 subkey is IETF ChaCha20
    // block 0 with nonce LE32(1) || nonce[16..24] (the counter's high word moves into the nonce).
    const subkey = sodium.crypto_core_hchacha20(NONCE.subarray(0, 16), key, null);
    const ietfNonce = Buffer.concat([Buffer.from([1, 0, 0, 0]), NONCE.subarray(16)]);
    const hi = Buffer.from(sodium.crypto_stream_chacha20_ietf_xor_ic(data.subarray(100), ietfNonce, 0, subkey));
    // (libsodium's JS wrapper takes counters below 2^31 only, so the near side is checked by continuity.)
    expect(ours.subarray(100)).toEqual(hi);
    expect(ours.subarray(0, 100)).toEqual(c.xorAt(offset, data.subarray(0, 100)));
  });

  it('rejects keys of the wrong length', () => {
    expect(() => new SeekableCipher(new Uint8Array(31))).toThrow(/32 bytes/);
  });
});

describe('convergent key', () => {
  const secret = new Uint8Array(32).fill(5);
  const params = { k: 3, n: 10, maxSegmentSize: 1 << 20 };

  it('is deterministic, streaming-equivalent, and depends on secret, params and content', async () => {
    const data = randomBytes(100_000);
    const a = await convergentKey(secret, params, data);
    const h = await ConvergentKeyHasher.create(secret, params);
    for (let o = 0; o < data.length; o += 7777) h.update(data.subarray(o, o + 7777));
    expect(Buffer.from(h.digest())).toEqual(Buffer.from(a));
    expect(a.length).toBe(32);
    const others = [
      await convergentKey(new Uint8Array(32).fill(6), params, data),
      await convergentKey(secret, { ...params, k: 2 }, data),
      await convergentKey(secret, { ...params, maxSegmentSize: 1 << 19 }, data),
      await convergentKey(secret, params, Buffer.concat([data, Buffer.from([0])])),
    ];
    for (const o of others) expect(Buffer.from(o).equals(Buffer.from(a))).toBe(false);
  });

  it('matches keyed BLAKE2b over tag, params and plaintext', async () => {
    const data = Buffer.from('hello ferry');
    const expected = sodium.crypto_generichash(32, Buffer.concat([Buffer.from('23:ferry-v1:convergent-key,'), Buffer.from('24:k=3,n=10,segsize=1048576,'), data]), secret);
    expect(Buffer.from(await convergentKey(secret, params, data))).toEqual(Buffer.from(expected));
  });

  it('rejects a secret of the wrong size', async () => {
    await expect(ConvergentKeyHasher.create(new Uint8Array(16), params)).rejects.toThrow(/32 bytes/);
  });
});
