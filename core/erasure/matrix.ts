/**
 * The coding matrices. zfec's encode matrix for (k, m) is the m×k
 * Vandermonde matrix over the points 0, alpha^0, alpha^1, ..., alpha^(m-2),
 * multiplied on the right by the inverse of its top k×k square so that the
 * top k rows become the identity (share i < k is primary block i).
 * The result is unique, so it is byte-compatible however the inverse is computed.
 */
import { MUL, EXP, invertMatrix, invertVandermonde } from './gf256.js';

/** Evaluation point of row r of the Vandermonde matrix (row 0 is the point 0). */
function point(r: number): number {
  return r === 0 ? 0 : EXP[(r - 1) % 255];
}

const encodeCache = new Map<string, Uint8Array>();
const ENCODE_CACHE_MAX = 64;

/** The m×k systematic encode matrix (row-major). Cached; callers must not modify it. */
export function encodeMatrix(k: number, m: number): Uint8Array {
  const key = `${k}/${m}`;
  const hit = encodeCache.get(key);
  if (hit !== undefined) {
    // Refresh recency so the map's insertion order is an LRU order.
    encodeCache.delete(key);
    encodeCache.set(key, hit);
    return hit;
  }
  const enc = buildEncodeMatrix(k, m);
  if (encodeCache.size >= ENCODE_CACHE_MAX) {
    const oldest = encodeCache.keys().next().value as string;
    encodeCache.delete(oldest);
  }
  encodeCache.set(key, enc);
  return enc;
}

function buildEncodeMatrix(k: number, m: number): Uint8Array {
  const enc = new Uint8Array(m * k);
  for (let i = 0; i < k; i++) enc[i * k + i] = 1;
  if (m === k) return enc;
  const points = new Uint8Array(k);
  for (let r = 0; r < k; r++) points[r] = point(r);
  const topInv = invertVandermonde(points);
  const vrow = new Uint8Array(k);
  for (let r = k; r < m; r++) {
    // Row r of the Vandermonde matrix: p^0, p^1, ..., p^(k-1).
    const p = point(r);
    vrow[0] = 1;
    for (let d = 1; d < k; d++) vrow[d] = MUL[(vrow[d - 1] << 8) | p];
    for (let c = 0; c < k; c++) {
      let acc = 0;
      for (let d = 0; d < k; d++) acc ^= MUL[(vrow[d] << 8) | topInv[d * k + c]];
      enc[r * k + c] = acc;
    }
  }
  return enc;
}

/**
 * How to rebuild the primary blocks missing from a set of k shares.
 * `matrix` is missing.length × k; column j applies to the j-th given share
 * (in the caller's order), so missing block missing[a] = sum_j matrix[a*k+j]·share_j.
 */
export interface DecodePlan {
  missing: number[];
  matrix: Uint8Array;
}

/**
 * Plan for decoding from exactly k distinct share numbers (validated by the caller).
 * Only the square block that couples the missing primaries to the check shares
 * is inverted, so the cost scales with how many primaries are missing, not with k.
 */
export function decodePlan(k: number, m: number, shareNums: readonly number[]): DecodePlan {
  const enc = encodeMatrix(k, m);
  const posOfPrimary = new Int32Array(k).fill(-1);
  const checkPos: number[] = [];
  for (let j = 0; j < k; j++) {
    const s = shareNums[j];
    if (s < k) posOfPrimary[s] = j;
    else checkPos.push(j);
  }
  const missing: number[] = [];
  for (let p = 0; p < k; p++) if (posOfPrimary[p] < 0) missing.push(p);
  const r = missing.length;
  const matrix = new Uint8Array(r * k);
  if (r === 0) return { missing, matrix };

  // Check share c satisfies s_c = sum_{p present} E[c][p]·d_p + sum_{q missing} E[c][q]·d_q,
  // so d_missing = A^-1 · (s_checks + E[checks][present]·d_present), with A = E[checks][missing].
  const a = new Uint8Array(r * r);
  for (let i = 0; i < r; i++) {
    const row = shareNums[checkPos[i]] * k;
    for (let b = 0; b < r; b++) a[i * r + b] = enc[row + missing[b]];
  }
  const aInv = invertMatrix(a, r);
  for (let i = 0; i < r; i++) {
    for (let b = 0; b < r; b++) matrix[i * k + checkPos[b]] = aInv[i * r + b];
    for (let p = 0; p < k; p++) {
      const pos = posOfPrimary[p];
      if (pos < 0) continue;
      let acc = 0;
      for (let b = 0; b < r; b++) acc ^= MUL[(aInv[i * r + b] << 8) | enc[shareNums[checkPos[b]] * k + p]];
      matrix[i * k + pos] = acc;
    }
  }
  return { missing, matrix };
}
