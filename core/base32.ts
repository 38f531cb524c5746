import { FormatError, type ErrorCode } from './errors.js';

// RFC 4648 base32, lowercase, no padding (as Tahoe's storage index text form).
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const LOOKUP = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** Length of the unpadded encoding of `n` bytes. */
export function base32Length(n: number): number {
  return Math.ceil((n * 8) / 5);
}

/**
 * Strict decoding: lowercase alphabet only, no padding, exact length for
 * `expectedBytes`, and the unused trailing bits must be zero so that every
 * value has exactly one text form.
 */
export function base32Decode(text: string, expectedBytes: number, code: ErrorCode, what: string): Uint8Array {
  const want = base32Length(expectedBytes);
  if (text.length !== want) {
    throw new FormatError(code, `${what} must be ${want} base32 characters, got ${text.length}`);
  }
  const out = new Uint8Array(expectedBytes);
  let buffer = 0;
  let bits = 0;
  let j = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? LOOKUP[c] : -1;
    if (v < 0) {
      throw new FormatError(code, `${what} has an invalid character ${JSON.stringify(text[i])} at ${i} (lowercase base32 a-z2-7 only)`);
    }
    buffer = (buffer << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (buffer >>> bits) & 0xff;
      buffer &= (1 << bits) - 1;
    }
  }
  if (buffer !== 0) throw new FormatError(code, `${what} is not canonical base32 (non-zero trailing bits)`);
  return out;
}
