import { randomBytes } from 'node:crypto';
import { FormatError } from '../errors.js';
import { validateParams, type EncodingParams } from '../params.js';
import { netstring, TAGS } from '../tagged-hash.js';
import { loadSodium } from './sodium.js';

export const KEY_BYTES = 32;
export const CONVERGENCE_SECRET_BYTES = 32;

/** The encoding parameters as they enter the convergent hash: a change of k, n or segment size is a different file. */
export function paramsTag(p: EncodingParams): string {
  return `k=${p.k},n=${p.n},segsize=${p.maxSegmentSize}`;
}

/**
 * Streaming convergent key derivation:
 * key = BLAKE2b-256 keyed by the convergence secret over
 *   netstring("ferry-v1:convergent-key") || netstring(paramsTag) || plaintext.
 * Same secret + same parameters + same plaintext => same key (and so the same
 * storage index), which is what lets the helper answer "have it".
 */
export class ConvergentKeyHasher {
  private constructor(
    private readonly sodium: Awaited<ReturnType<typeof loadSodium>>,
    private readonly state: unknown,
  ) {}

  static async create(secret: Uint8Array, params: EncodingParams): Promise<ConvergentKeyHasher> {
    if (secret.length !== CONVERGENCE_SECRET_BYTES) {
      throw new FormatError('INVALID_PARAMETERS', `convergence secret must be ${CONVERGENCE_SECRET_BYTES} bytes, got ${secret.length}`);
    }
    validateParams(params);
    const sodium = await loadSodium();
    const state = sodium.crypto_generichash_init(secret, KEY_BYTES);
    const hasher = new ConvergentKeyHasher(sodium, state);
    hasher.update(netstring(TAGS.convergentKey));
    hasher.update(netstring(paramsTag(params)));
    return hasher;
  }

  update(chunk: Uint8Array): void {
    // The typings declare the state opaque; libsodium wants it back as given.
    this.sodium.crypto_generichash_update(this.state as never, chunk);
  }

  digest(): Uint8Array {
    return this.sodium.crypto_generichash_final(this.state as never, KEY_BYTES);
  }
}

/** One-shot form, for small inputs and tests. */
export async function convergentKey(secret: Uint8Array, params: EncodingParams, plaintext: Uint8Array): Promise<Uint8Array> {
  const h = await ConvergentKeyHasher.create(secret, params);
  h.update(plaintext);
  return h.digest();
}

export function randomKey(): Uint8Array {
  return new Uint8Array(randomBytes(KEY_BYTES));
}

export function newConvergenceSecret(): Uint8Array {
  return new Uint8Array(randomBytes(CONVERGENCE_SECRET_BYTES));
}
