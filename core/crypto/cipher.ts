import { createCipheriv, type Cipher } from 'node:crypto';
import { FormatError } from '../errors.js';
import { primeAllocator } from './heap.js';
import { loadSodium, sodiumSync } from './sodium.js';

/**
 * XChaCha20 with a zero nonce (each key encrypts exactly one file: convergent
 * keys are content-derived and random keys are fresh), seekable to any byte.
 *
 * Reference definition: byte j of the keystream is byte (j mod 64) of
 * libsodium's crypto_stream_xchacha20_xor_ic(.., nonce=0^24, ic=floor(j/64), key).
 * XChaCha20 is ChaCha20 (64-bit block counter, 8-byte nonce) under the subkey
 * HChaCha20(key, nonce[0..16]); we run that ChaCha20 through OpenSSL, which is
 * ~7x faster here than libsodium's WASM build. The tests check the two agree.
 */
export const NONCE = new Uint8Array(24);
const BLOCK = 64;
const COUNTER_WRAP = 2 ** 32; // OpenSSL's counter is 32 bits; we carry into the next word ourselves.

/** Must be awaited once before constructing a {@link SeekableCipher}. */
export async function cipherReady(): Promise<void> {
  primeAllocator(); // every update() allocates its output: see heap.ts
  await loadSodium();
}

export class SeekableCipher {
  private readonly subkey: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new FormatError('INVALID_PARAMETERS', `cipher key must be 32 bytes, got ${key.length}`);
    this.subkey = Buffer.from(sodiumSync().crypto_core_hchacha20(NONCE.subarray(0, 16), key, null));
  }

  private openAtBlock(block: number): Cipher {
    const iv = Buffer.alloc(16);
    iv.writeUInt32LE(block % COUNTER_WRAP, 0);
    iv.writeUInt32LE(Math.floor(block / COUNTER_WRAP), 4);
    iv.set(NONCE.subarray(16, 24), 8);
    return createCipheriv('chacha20', this.subkey, iv);
  }

  /** XOR `data` with the keystream starting at file byte `offset` (encrypts and decrypts alike). */
  xorAt(offset: number, data: Uint8Array): Buffer {
    return this.cursor(offset).update(data);
  }

  /** A sequential cipher from `offset`: each update continues where the last ended. */
  cursor(offset: number): CipherCursor {
    return new CipherCursor(this, offset);
  }

  /** @internal */
  open(offset: number): { cipher: Cipher; blockEnd: number } {
    if (!Number.isSafeInteger(offset) || offset < 0) throw new FormatError('INVALID_PARAMETERS', `bad cipher offset ${offset}`);
    const block = Math.floor(offset / BLOCK);
    const cipher = this.openAtBlock(block);
    const skip = offset - block * BLOCK;
    if (skip) cipher.update(Buffer.alloc(skip));
    // Byte offset where OpenSSL's 32-bit counter would wrap.
    const blockEnd = (Math.floor(block / COUNTER_WRAP) + 1) * COUNTER_WRAP * BLOCK;
    return { cipher, blockEnd };
  }
}

export class CipherCursor {
  private cipher: Cipher;
  private wrapAt: number;

  constructor(
    private readonly owner: SeekableCipher,
    private position: number,
  ) {
    const { cipher, blockEnd } = owner.open(position);
    this.cipher = cipher;
    this.wrapAt = blockEnd;
  }

  get offset(): number {
    return this.position;
  }

  update(data: Uint8Array): Buffer {
    const end = this.position + data.length;
    if (end <= this.wrapAt) {
      this.position = end;
      return this.cipher.update(data);
    }
    // Crossing a 2^32-block boundary (256 GiB): split and reopen with the high counter word set.
    const first = this.wrapAt - this.position;
    const a = this.cipher.update(data.subarray(0, first));
    this.position = this.wrapAt;
    const { cipher, blockEnd } = this.owner.open(this.position);
    this.cipher = cipher;
    this.wrapAt = blockEnd;
    return Buffer.concat([a, this.update(data.subarray(first))]);
  }
}
