/**
 * A tiny WebAssembly SIMD module, assembled here byte by byte (no toolchain),
 * holding the one function that matters for speed:
 *
 *   matmul(coef, nOut, nIn, inBase, outBase, stride, len)
 *     for o < nOut, for i < len: out_o[i] = XOR_j c(o,j) · in_j[i]
 *
 * Multiplication by a constant c uses split-nibble tables: c·x = lo_c[x & 15] ^ hi_c[x >> 4],
 * and i8x16.swizzle does 16 such lookups at once (pshufb on x86, tbl on ARM).
 * That is several times faster than any scalar table loop V8 can run.
 *
 * Memory layout (all offsets in bytes), shared with kernel.ts:
 *   [0, 8192)       tables: at c*32, lo_c[0..15] then hi_c[0..15]
 *   [8192, 73728)   coef matrix, nOut×nIn, row-major
 *   [73728, ...)    scratch: nIn input strips then nOut output strips, `stride` apart
 * nOut and nIn must be >= 1, and `len` a positive multiple of UNROLL*16 (the caller pads strips).
 */

export const TABLES_OFFSET = 0;
export const COEF_OFFSET = 8192;
export const SCRATCH_OFFSET = COEF_OFFSET + 65536;
/** 16-byte vectors processed per inner step; each table pair is loaded once per step. */
export const UNROLL = 4;
export const STEP = UNROLL * 16;

// Opcodes used below (core and 0xfd-prefixed SIMD).
const I32 = 0x7f;
const V128 = 0x7b;
const LOOP = 0x03;
const END = 0x0b;
const BR_IF = 0x0d;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const I32_LOAD8_U = 0x2d;
const I32_CONST = 0x41;
const I32_NE = 0x47;
const I32_LT_U = 0x49;
const I32_ADD = 0x6a;
const I32_MUL = 0x6c;
const I32_SHL = 0x74;
const SIMD = 0xfd;
const V128_LOAD = 0x00;
const V128_STORE = 0x0b;
const V128_CONST = 0x0c;
const I8X16_SWIZZLE = 0x0e;
const I8X16_SPLAT = 0x0f;
const V128_AND = 0x4e;
const V128_XOR = 0x51;
const I16X8_SHR_U = 0x8d;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** Signed LEB128, enough for the small constants we emit. */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => vec([...s].map((ch) => [ch.charCodeAt(0)]));

// Locals: the 7 params, then i32 scratch, then v128 registers.
const P_COEF = 0, P_NOUT = 1, P_NIN = 2, P_INBASE = 3, P_OUTBASE = 4, P_STRIDE = 5, P_LEN = 6;
const L_O = 7, L_I = 8, L_J = 9, L_ROWC = 10, L_SRC = 11, L_TP = 12, L_OUTP = 13;
const L_MASK = 14, L_TLO = 15, L_THI = 16, L_V = 17, L_ACC = 18;

const get = (l: number): number[] => [LOCAL_GET, l];
const set = (l: number): number[] => [LOCAL_SET, l];
const i32c = (n: number): number[] => [I32_CONST, ...sleb(n)];
const simd = (op: number, ...imm: number[]): number[] => [SIMD, ...uleb(op), ...imm];
/** memarg: alignment exponent, then offset */
const mem = (align: number, offset: number): number[] => [...uleb(align), ...uleb(offset)];

function matmulBody(): number[] {
  const code: number[] = [];
  const emit = (...parts: number[][]): void => {
    for (const p of parts) code.push(...p);
  };
  emit(i32c(15), simd(I8X16_SPLAT), set(L_MASK));
  emit([LOOP, 0x40]); // per output row o
  emit(get(P_COEF), get(L_O), get(P_NIN), [I32_MUL], [I32_ADD], set(L_ROWC));
  emit(get(P_OUTBASE), get(L_O), get(P_STRIDE), [I32_MUL], [I32_ADD], set(L_OUTP));
  emit(i32c(0), set(L_I));
  emit([LOOP, 0x40]); // per STEP bytes at offset i
  for (let u = 0; u < UNROLL; u++) emit(simd(V128_CONST, ...new Array<number>(16).fill(0)), set(L_ACC + u));
  emit(i32c(0), set(L_J));
  emit(get(P_INBASE), get(L_I), [I32_ADD], set(L_SRC));
  emit([LOOP, 0x40]); // per input j
  emit(get(L_ROWC), get(L_J), [I32_ADD], [I32_LOAD8_U, ...mem(0, 0)], i32c(5), [I32_SHL], set(L_TP));
  emit(get(L_TP), simd(V128_LOAD, ...mem(4, 0)), set(L_TLO));
  emit(get(L_TP), simd(V128_LOAD, ...mem(4, 16)), set(L_THI));
  for (let u = 0; u < UNROLL; u++) {
    emit(get(L_SRC), simd(V128_LOAD, ...mem(4, u * 16)), set(L_V));
    emit(get(L_ACC + u));
    emit(get(L_TLO), get(L_V), get(L_MASK), simd(V128_AND), simd(I8X16_SWIZZLE), simd(V128_XOR));
    // High nibbles: a 16-bit shift then the byte mask (cheaper in V8 than i8x16.shr_u).
    emit(get(L_THI), get(L_V), i32c(4), simd(I16X8_SHR_U), get(L_MASK), simd(V128_AND), simd(I8X16_SWIZZLE), simd(V128_XOR));
    emit(set(L_ACC + u));
  }
  emit(get(L_SRC), get(P_STRIDE), [I32_ADD], set(L_SRC));
  emit(get(L_J), i32c(1), [I32_ADD], set(L_J));
  emit(get(L_J), get(P_NIN), [I32_NE], [BR_IF, 0]);
  emit([END]);
  for (let u = 0; u < UNROLL; u++) {
    emit(get(L_OUTP), get(L_I), [I32_ADD], get(L_ACC + u), simd(V128_STORE, ...mem(4, u * 16)));
  }
  emit(get(L_I), i32c(STEP), [I32_ADD], set(L_I));
  emit(get(L_I), get(P_LEN), [I32_LT_U], [BR_IF, 0]);
  emit([END]);
  emit(get(L_O), i32c(1), [I32_ADD], set(L_O));
  emit(get(L_O), get(P_NOUT), [I32_LT_U], [BR_IF, 0]);
  emit([END]);
  emit([END]); // function body
  return code;
}

/** The module's bytes; `pages` of 64 KiB memory are declared (fixed size, exported as "memory"). */
export function buildSimdModule(pages: number): Uint8Array {
  const locals = vec([
    [...uleb(L_MASK - L_O), I32],
    [...uleb(L_ACC + UNROLL - L_MASK), V128],
  ]);
  const body = [...locals, ...matmulBody()];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([[0x60, ...vec(new Array<number[]>(7).fill([I32])), ...vec([])]])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0x01, ...uleb(pages), ...uleb(pages)]])),
    ...section(7, vec([[...name('memory'), 0x02, 0], [...name('matmul'), 0x00, 0]])),
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ];
  return Uint8Array.from(bytes);
}

export interface SimdInstance {
  memory: { readonly buffer: ArrayBuffer };
  matmul: (coef: number, nOut: number, nIn: number, inBase: number, outBase: number, stride: number, len: number) => void;
}

/** The slice of the WebAssembly JS API used here (the project's lib settings do not type it). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

/** Instantiates the module, or returns null where WebAssembly SIMD is unavailable. */
export function instantiateSimd(pages: number): SimdInstance | null {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (api === undefined) return null;
  try {
    const bytes = buildSimdModule(pages);
    if (!api.validate(bytes)) return null;
    const { exports } = new api.Instance(new api.Module(bytes), {});
    return { memory: exports.memory as SimdInstance['memory'], matmul: exports.matmul as SimdInstance['matmul'] };
  } catch {
    return null;
  }
}
