import { base32Decode, base32Encode, base32Length } from './base32.js';
import { FormatError } from './errors.js';
import { HASH_BYTES } from './merkle.js';
import { MAX_SHARES } from './params.js';
import { formatStorageIndex, storageIndexFromKey, STORAGE_INDEX_BYTES } from './storage-index.js';
import { TAGS, taggedHash } from './tagged-hash.js';

/**
 * Capabilities, as Tahoe's CHK URIs, in URL-safe text (no '/', '?', '#'):
 *   read:   ferry-chk:<key b32>:<ueb hash b32>:<k>:<n>:<size>
 *   verify: ferry-chk-verify:<storage index b32>:<ueb hash b32>:<k>:<n>:<size>
 * The read-cap decrypts; the verify-cap can check and repair but not read.
 */
export const READ_CAP_PREFIX = 'ferry-chk';
export const VERIFY_CAP_PREFIX = 'ferry-chk-verify';

export interface VerifyCap {
  kind: 'verify';
  storageIndex: Uint8Array;
  uebHash: Uint8Array;
  k: number;
  n: number;
  size: number;
}

export interface ReadCap {
  kind: 'read';
  key: Uint8Array;
  uebHash: Uint8Array;
  k: number;
  n: number;
  size: number;
}

export function formatReadCap(c: Omit<ReadCap, 'kind'>): string {
  return [READ_CAP_PREFIX, base32Encode(c.key), base32Encode(c.uebHash), c.k, c.n, c.size].join(':');
}

export function formatVerifyCap(c: Omit<VerifyCap, 'kind'>): string {
  return [VERIFY_CAP_PREFIX, formatStorageIndex(c.storageIndex), base32Encode(c.uebHash), c.k, c.n, c.size].join(':');
}

export function verifyCapOf(r: ReadCap): VerifyCap {
  return { kind: 'verify', storageIndex: storageIndexFromKey(r.key), uebHash: r.uebHash, k: r.k, n: r.n, size: r.size };
}

const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;

function parseNumber(text: string, what: string, min: number, max: number): number {
  if (!DECIMAL.test(text)) throw new FormatError('INVALID_CAPABILITY', `capability ${what} must be a decimal number without leading zeros, got ${JSON.stringify(text)}`);
  const v = Number(text);
  if (v < min || v > max) throw new FormatError('INVALID_CAPABILITY', `capability ${what} ${v} out of range ${min}..${max}`);
  return v;
}

/** Parses either kind; errors say which field is wrong. */
export function parseCapability(text: unknown): ReadCap | VerifyCap {
  if (typeof text !== 'string') throw new FormatError('INVALID_CAPABILITY', 'capability must be a string');
  if (text.length > 256) throw new FormatError('INVALID_CAPABILITY', 'capability too long');
  const parts = text.split(':');
  const prefix = parts[0];
  if (prefix !== READ_CAP_PREFIX && prefix !== VERIFY_CAP_PREFIX) {
    throw new FormatError('INVALID_CAPABILITY', `capability must start with "${READ_CAP_PREFIX}:" or "${VERIFY_CAP_PREFIX}:"`);
  }
  if (parts.length !== 6) throw new FormatError('INVALID_CAPABILITY', `capability must have 6 ':'-separated fields, got ${parts.length}`);
  const [, first, ueb, kText, nText, sizeText] = parts;
  const uebHash = base32Decode(ueb, HASH_BYTES, 'INVALID_CAPABILITY', 'capability UEB hash');
  const k = parseNumber(kText, 'k', 1, MAX_SHARES);
  const n = parseNumber(nText, 'n', 1, MAX_SHARES);
  if (k > n) throw new FormatError('INVALID_CAPABILITY', `capability k=${k} exceeds n=${n}`);
  const size = parseNumber(sizeText, 'size', 0, Number.MAX_SAFE_INTEGER);
  if (prefix === READ_CAP_PREFIX) {
    return { kind: 'read', key: base32Decode(first, 32, 'INVALID_CAPABILITY', 'capability key'), uebHash, k, n, size };
  }
  if (first.length !== base32Length(STORAGE_INDEX_BYTES)) {
    throw new FormatError('INVALID_CAPABILITY', `capability storage index must be ${base32Length(STORAGE_INDEX_BYTES)} characters`);
  }
  return { kind: 'verify', storageIndex: base32Decode(first, STORAGE_INDEX_BYTES, 'INVALID_CAPABILITY', 'capability storage index'), uebHash, k, n, size };
}

export function parseReadCap(text: unknown): ReadCap {
  const c = parseCapability(text);
  if (c.kind !== 'read') throw new FormatError('INVALID_CAPABILITY', 'a read capability (ferry-chk:...) is needed; a verify capability cannot decrypt');
  return c;
}

/** Accepts either kind and returns the verify-cap (derived from a read-cap). */
export function toVerifyCap(text: unknown): VerifyCap {
  const c = parseCapability(text);
  return c.kind === 'read' ? verifyCapOf(c) : c;
}

/** Strong ETag for a file: identifies the exact bytes without revealing the key. */
export function etagOf(v: VerifyCap): string {
  return `"${taggedHash(TAGS.etag, v.storageIndex, v.uebHash).subarray(0, 16).toString('hex')}"`;
}
