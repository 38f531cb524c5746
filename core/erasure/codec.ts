/**
 * Ferry's erasure code: systematic Reed-Solomon over GF(2^8), byte-compatible
 * with zfec. For the same (k, m) and input blocks, share i equals
 * zfec.Encoder(k, m).encode(blocks)[i]; any k distinct shares give the blocks back.
 *
 * Shares 0..k-1 are the primary blocks themselves; shares k..m-1 are check shares.
 * Like zfec, primary shares are returned as the very objects passed in (not copies).
 */
import { FormatError } from '../errors.js';
import { MAX_SHARES } from '../params.js';
import { defaultKernel, type GfKernel } from './kernel.js';
import { decodePlan, encodeMatrix, type DecodePlan } from './matrix.js';

export interface ErasureCodecOptions {
  /** Override the multiply kernel (tests compare kernels); default: the fastest available. */
  kernel?: GfKernel;
}

function invalid(message: string): FormatError {
  return new FormatError('INVALID_PARAMETERS', message);
}

export function validateCodecParams(k: number, m: number): void {
  if (!Number.isInteger(k) || !Number.isInteger(m) || k < 1 || m > MAX_SHARES || k > m) {
    throw invalid(`erasure code needs integers 1 <= k <= m <= ${MAX_SHARES}, got k=${k} m=${m}`);
  }
}

/** Checks `blocks` are `count` Uint8Arrays of one length, and returns that length. */
export function validateBlocks(blocks: readonly Uint8Array[], count: number, what: string): number {
  if (!Array.isArray(blocks)) throw invalid(`${what} must be an array of Uint8Array`);
  if (blocks.length !== count) throw invalid(`expected exactly ${count} ${what}, got ${blocks.length}`);
  let len = -1;
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i];
    if (!(b instanceof Uint8Array)) throw invalid(`${what}[${i}] is not a Uint8Array`);
    if (len < 0) len = b.length;
    else if (b.length !== len) throw invalid(`${what} must all have the same length: ${what}[0] has ${len} bytes, ${what}[${i}] has ${b.length}`);
  }
  return Math.max(len, 0);
}

/** Checks share numbers are distinct integers in 0..m-1. */
export function validateShareNums(shareNums: readonly number[], m: number): void {
  if (!Array.isArray(shareNums)) throw invalid('share numbers must be an array of integers');
  const seen = new Uint8Array(m);
  for (const s of shareNums) {
    if (!Number.isInteger(s) || s < 0 || s >= m) throw invalid(`share number ${s} out of range 0..${m - 1}`);
    if (seen[s] !== 0) throw invalid(`duplicate share number ${s}`);
    seen[s] = 1;
  }
}

/** Fits a caller-provided output buffer to `len` bytes, or allocates one. */
function outputFor(out: Uint8Array | undefined, len: number, where: string): Uint8Array {
  if (out === undefined) return new Uint8Array(len);
  if (!(out instanceof Uint8Array)) throw invalid(`${where} is not a Uint8Array`);
  if (out.length < len) throw invalid(`${where} has ${out.length} bytes, needs ${len}`);
  return out.length === len ? out : out.subarray(0, len);
}

const DECODE_CACHE_MAX = 32;

export class ErasureCodec {
  readonly k: number;
  readonly m: number;
  private readonly kernel: GfKernel;
  /** Rows k..m-1 of the encode matrix: the check-share coefficients. */
  private readonly checkRows: Uint8Array;
  /** Decode plans by share-number list; segments of one file reuse the same set. */
  private readonly plans = new Map<string, DecodePlan>();

  constructor(k: number, m: number, options: ErasureCodecOptions = {}) {
    validateCodecParams(k, m);
    this.k = k;
    this.m = m;
    this.kernel = options.kernel ?? defaultKernel();
    this.checkRows = encodeMatrix(k, m).subarray(k * k);
  }

  /**
   * All m shares. The first k entries are `blocks` themselves (same objects).
   * `outputs`, if given, holds exactly m-k buffers that receive shares k..m-1; each must
   * have at least the block length (a longer one is returned as a subarray) and
   * must not overlap the inputs.
   */
  encode(blocks: readonly Uint8Array[], outputs?: readonly Uint8Array[]): Uint8Array[] {
    const { k, m } = this;
    const len = validateBlocks(blocks, k, 'blocks');
    if (outputs !== undefined && (!Array.isArray(outputs) || outputs.length !== m - k)) {
      throw invalid(`outputs must hold exactly m-k = ${m - k} buffers, got ${Array.isArray(outputs) ? outputs.length : typeof outputs}`);
    }
    const checks: Uint8Array[] = [];
    for (let i = 0; i < m - k; i++) checks.push(outputFor(outputs?.[i], len, `outputs[${i}]`));
    this.kernel.matmul(this.checkRows, blocks, checks, len);
    return [...blocks, ...checks];
  }

  /**
   * Only the shares numbered `shareNums` (distinct, any order), in that order; what a
   * repairer needs. A primary number yields the input block itself. `outputs`, if
   * given, is aligned with `shareNums`; entries at primary numbers are ignored.
   */
  encodeShares(blocks: readonly Uint8Array[], shareNums: readonly number[], outputs?: readonly (Uint8Array | undefined)[]): Uint8Array[] {
    const { k, m } = this;
    const len = validateBlocks(blocks, k, 'blocks');
    validateShareNums(shareNums, m);
    if (outputs !== undefined && (!Array.isArray(outputs) || outputs.length !== shareNums.length)) {
      throw invalid(`outputs must be aligned with shareNums (${shareNums.length} entries)`);
    }
    const result: Uint8Array[] = new Array(shareNums.length);
    const wanted: number[] = [];
    const targets: Uint8Array[] = [];
    for (let i = 0; i < shareNums.length; i++) {
      const s = shareNums[i];
      if (s < k) {
        result[i] = blocks[s];
      } else {
        result[i] = outputFor(outputs?.[i], len, `outputs[${i}]`);
        wanted.push(s);
        targets.push(result[i]);
      }
    }
    if (targets.length > 0) {
      const coef = new Uint8Array(wanted.length * k);
      wanted.forEach((s, o) => coef.set(this.checkRows.subarray((s - k) * k, (s - k + 1) * k), o * k));
      this.kernel.matmul(coef, blocks, targets, len);
    }
    return result;
  }

  /**
   * The k primary blocks from exactly k distinct shares (any order, `shareNums[i]`
   * names `shares[i]`). Primary shares that were given are returned as is; missing ones
   * are rebuilt into `outputs[p]` when given (`outputs` is indexed by block number).
   */
  decode(shares: readonly Uint8Array[], shareNums: readonly number[], outputs?: readonly (Uint8Array | undefined)[]): Uint8Array[] {
    const { k, m } = this;
    const len = validateBlocks(shares, k, 'shares');
    if (!Array.isArray(shareNums) || shareNums.length !== shares.length) {
      throw invalid(`need one share number per share: ${shares.length} shares, ${Array.isArray(shareNums) ? shareNums.length : typeof shareNums} share numbers`);
    }
    validateShareNums(shareNums, m);
    if (outputs !== undefined && (!Array.isArray(outputs) || outputs.length !== k)) {
      throw invalid(`outputs must be indexed by block number (${k} entries)`);
    }
    const plan = this.plan(shareNums);
    const result: Uint8Array[] = new Array(k);
    for (let j = 0; j < k; j++) if (shareNums[j] < k) result[shareNums[j]] = shares[j];
    if (plan.missing.length > 0) {
      const targets = plan.missing.map((p) => (result[p] = outputFor(outputs?.[p], len, `outputs[${p}]`)));
      this.kernel.matmul(plan.matrix, shares, targets, len);
    }
    return result;
  }

  private plan(shareNums: readonly number[]): DecodePlan {
    const key = shareNums.join(',');
    let plan = this.plans.get(key);
    if (plan === undefined) {
      plan = decodePlan(this.k, this.m, shareNums);
      if (this.plans.size >= DECODE_CACHE_MAX) this.plans.clear();
      this.plans.set(key, plan);
    }
    return plan;
  }
}
