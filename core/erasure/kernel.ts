/**
 * The hot loop: outputs = coef × inputs over GF(256), byte-wise across blocks.
 *
 * Two implementations with one interface:
 *  - wasm-simd: split-nibble tables with i8x16.swizzle (wasm-simd.ts), the default;
 *  - js-u32: 32-bit words with four byte lookups per word, the fallback where
 *    WebAssembly SIMD is missing, and a cross-check in tests.
 * Both walk the blocks in strips copied into a fixed scratch area, so the working
 * set stays in cache, any byteOffset/alignment works and nothing is allocated per call
 * (beyond the subarray views used for the copies).
 */
import { MUL } from './gf256.js';
import { COEF_OFFSET, SCRATCH_OFFSET, STEP, TABLES_OFFSET, instantiateSimd, type SimdInstance } from './wasm-simd.js';

export interface GfKernel {
  readonly name: string;
  /**
   * outputs[o][0..len) = XOR over j of coef[o * inputs.length + j] · inputs[j][0..len).
   * Every input and output must be at least `len` bytes. An output may be the same
   * memory as an input (each strip of input is read before that strip is written).
   */
  matmul(coef: Uint8Array, inputs: readonly Uint8Array[], outputs: readonly Uint8Array[], len: number): void;
}

/** Scratch for strips; ~L2-sized, shared by all inputs and outputs of a call. */
const SCRATCH_BYTES = 512 * 1024;
const MAX_STRIP = 64 * 1024;
const MAX_ROWS = 512; // up to 256 inputs and 256 outputs

/** Strip length for a call: as long as fits the scratch, a multiple of STEP. */
function stripFor(rows: number, len: number): number {
  const fit = Math.floor(SCRATCH_BYTES / rows / STEP) * STEP;
  const strip = Math.max(STEP, Math.min(MAX_STRIP, fit));
  return Math.min(strip, Math.ceil(len / STEP) * STEP);
}

class WasmSimdKernel implements GfKernel {
  readonly name = 'wasm-simd';
  private readonly heap: Uint8Array;

  constructor(private readonly wasm: SimdInstance) {
    this.heap = new Uint8Array(wasm.memory.buffer);
    for (let c = 0; c < 256; c++) {
      for (let n = 0; n < 16; n++) {
        this.heap[TABLES_OFFSET + c * 32 + n] = MUL[(c << 8) | n];
        this.heap[TABLES_OFFSET + c * 32 + 16 + n] = MUL[(c << 8) | (n << 4)];
      }
    }
  }

  matmul(coef: Uint8Array, inputs: readonly Uint8Array[], outputs: readonly Uint8Array[], len: number): void {
    const nIn = inputs.length;
    const nOut = outputs.length;
    if (len === 0 || nOut === 0) return;
    if (nIn === 0) {
      for (const out of outputs) out.fill(0, 0, len); // an empty sum (the wasm loop needs nIn >= 1)
      return;
    }
    const heap = this.heap;
    heap.set(coef.subarray(0, nIn * nOut), COEF_OFFSET);
    const strip = stripFor(nIn + nOut, len);
    const outBase = SCRATCH_OFFSET + nIn * strip;
    for (let off = 0; off < len; off += strip) {
      const n = Math.min(strip, len - off);
      for (let j = 0; j < nIn; j++) heap.set(inputs[j].subarray(off, off + n), SCRATCH_OFFSET + j * strip);
      // Bytes past n in the last strip are stale scratch; their results are never copied out.
      this.wasm.matmul(COEF_OFFSET, nOut, nIn, SCRATCH_OFFSET, outBase, strip, Math.ceil(n / STEP) * STEP);
      for (let o = 0; o < nOut; o++) {
        const at = outBase + o * strip;
        outputs[o].set(heap.subarray(at, at + n), off);
      }
    }
  }
}

/** Memory the wasm module needs: tables, coefficients, and the largest scratch stripFor can ask for. */
const WASM_PAGES = Math.ceil((SCRATCH_OFFSET + Math.max(SCRATCH_BYTES, MAX_ROWS * STEP) + STEP) / 65536);

class JsU32Kernel implements GfKernel {
  readonly name = 'js-u32';
  // Per coefficient, 4×256 words: table t holds c·b shifted into byte lane t.
  private readonly tables: (Uint32Array | undefined)[] = new Array(256);
  private readonly scratch = new ArrayBuffer(SCRATCH_BYTES + MAX_ROWS * STEP);
  private readonly bytes = new Uint8Array(this.scratch);
  private readonly words = new Uint32Array(this.scratch);

  private table(c: number): Uint32Array {
    let t = this.tables[c];
    if (t === undefined) {
      t = new Uint32Array(1024);
      for (let b = 0; b < 256; b++) {
        const p = MUL[(c << 8) | b];
        t[b] = p;
        t[256 | b] = p << 8;
        t[512 | b] = p << 16;
        t[768 | b] = (p << 24) >>> 0;
      }
      this.tables[c] = t;
    }
    return t;
  }

  matmul(coef: Uint8Array, inputs: readonly Uint8Array[], outputs: readonly Uint8Array[], len: number): void {
    const nIn = inputs.length;
    const nOut = outputs.length;
    if (len === 0 || nOut === 0) return;
    const strip = stripFor(nIn + nOut, len);
    const w = this.words;
    const outBase = nIn * strip;
    for (let off = 0; off < len; off += strip) {
      const n = Math.min(strip, len - off);
      const nw = Math.ceil(n / 4);
      for (let j = 0; j < nIn; j++) this.bytes.set(inputs[j].subarray(off, off + n), j * strip);
      for (let o = 0; o < nOut; o++) {
        const d = (outBase + o * strip) >> 2;
        w.fill(0, d, d + nw);
        for (let j = 0; j < nIn; j++) {
          const c = coef[o * nIn + j];
          if (c !== 0) addMulWords(w, d, (j * strip) >> 2, this.table(c), nw);
        }
        outputs[o].set(this.bytes.subarray(d << 2, (d << 2) + n), off);
      }
    }
  }
}

/** w[d..d+n) ^= c · w[s..s+n), four bytes per word, each through its own lane table. */
function addMulWords(w: Uint32Array, d: number, s: number, t: Uint32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const x = w[s + i];
    w[d + i] ^= t[x & 255] ^ t[256 | ((x >>> 8) & 255)] ^ t[512 | ((x >>> 16) & 255)] ^ t[768 | (x >>> 24)];
  }
}

let jsKernel: GfKernel | undefined;
let simdKernel: GfKernel | null | undefined;

/** The portable kernel (always available). */
export function jsU32Kernel(): GfKernel {
  jsKernel ??= new JsU32Kernel();
  return jsKernel;
}

/** The WebAssembly SIMD kernel, or null where the runtime lacks SIMD. */
export function wasmSimdKernel(): GfKernel | null {
  if (simdKernel === undefined) {
    const wasm = instantiateSimd(WASM_PAGES);
    simdKernel = wasm === null ? null : new WasmSimdKernel(wasm);
  }
  return simdKernel;
}

/** The fastest kernel this runtime supports (one instance per thread). */
export function defaultKernel(): GfKernel {
  return wasmSimdKernel() ?? jsU32Kernel();
}
