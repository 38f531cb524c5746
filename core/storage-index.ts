import { base32Decode, base32Encode } from './base32.js';
import { FormatError } from './errors.js';
import { TAGS, taggedHash } from './tagged-hash.js';

export const STORAGE_INDEX_BYTES = 16;
export const STORAGE_INDEX_CHARS = 26;

/** Storage index = first 16 bytes of SHA-256(netstring("ferry-v1:storage-index") || key). */
export function storageIndexFromKey(key: Uint8Array): Uint8Array {
  if (key.length !== 32) throw new FormatError('INVALID_PARAMETERS', `encryption key must be 32 bytes, got ${key.length}`);
  return new Uint8Array(taggedHash(TAGS.storageIndex, key).subarray(0, STORAGE_INDEX_BYTES));
}

export function formatStorageIndex(si: Uint8Array): string {
  if (si.length !== STORAGE_INDEX_BYTES) throw new FormatError('INVALID_STORAGE_INDEX', `storage index must be 16 bytes, got ${si.length}`);
  return base32Encode(si);
}

/**
 * Parses the 26-character text form. Anything else is rejected, which is also
 * what keeps a storage index usable as a directory name: it can never contain
 * `/`, `..` or any character outside [a-z2-7].
 */
export function parseStorageIndex(text: unknown): Uint8Array {
  if (typeof text !== 'string') throw new FormatError('INVALID_STORAGE_INDEX', 'storage index must be a string');
  return base32Decode(text, STORAGE_INDEX_BYTES, 'INVALID_STORAGE_INDEX', 'storage index');
}

export function isStorageIndex(text: unknown): text is string {
  try {
    parseStorageIndex(text);
    return true;
  } catch {
    return false;
  }
}
