import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { FerryError, FormatError } from '../../core/errors.js';
import { CodecPool, ErasureCodec } from '../../core/erasure/index.js';
import { EXP, INV, MUL, gfMul, invertMatrix, invertVandermonde, matMul } from '../../core/erasure/gf256.js';
import { jsU32Kernel, wasmSimdKernel, type GfKernel } from '../../core/erasure/kernel.js';
import { encodeMatrix } from '../../core/erasure/matrix.js';

const range = (n: number): number[] => [...Array(n).keys()];
const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from(range(n), (i) => (i * 131 + seed * 17 + ((i * seed) >>> 3)) & 255);

/** Small (k, m) mostly, sometimes up to 256; short blocks when m is large to stay quick. */
const paramsArb = fc
  .oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 12 }) }, { weight: 1, arbitrary: fc.integer({ min: 13, max: 256 }) })
  .chain((m) => fc.record({ m: fc.constant(m), k: fc.integer({ min: 1, max: m }), len: fc.integer({ min: 0, max: m > 12 ? 48 : 600 }) }));

const caseArb = paramsArb.chain(({ k, m, len }) =>
  fc.record({
    k: fc.constant(k),
    m: fc.constant(m),
    blocks: fc.array(fc.uint8Array({ minLength: len, maxLength: len }), { minLength: k, maxLength: k }),
    nums: fc.shuffledSubarray(range(m), { minLength: k, maxLength: k }),
  }),
);

function expectInvalid(fn: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(FormatError);
  expect((caught as FormatError).code).toBe('INVALID_PARAMETERS');
  expect((caught as FormatError).message).toMatch(message);
}

describe('GF(256)', () => {
  it('has a consistent multiplication table and inverses', () => {
    for (let a = 1; a < 256; a++) {
      expect(gfMul(a, INV[a])).toBe(1);
      expect(gfMul(a, 1)).toBe(a);
      expect(gfMul(a, 0)).toBe(0);
    }
    // alpha generates the whole multiplicative group
    expect(new Set(EXP.subarray(0, 255)).size).toBe(255);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), (a, b, c) => {
        expect(gfMul(a, b)).toBe(gfMul(b, a));
        expect(gfMul(a, b ^ c)).toBe(gfMul(a, b) ^ gfMul(a, c));
        expect(gfMul(gfMul(a, b), c)).toBe(gfMul(a, gfMul(b, c)));
      }),
    );
  });

  it('inverts Vandermonde matrices like Gauss-Jordan does', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(range(256), { minLength: 1, maxLength: 40 }), (pts) => {
        const n = pts.length;
        const v = new Uint8Array(n * n);
        for (let i = 0; i < n; i++) {
          let p = 1;
          for (let j = 0; j < n; j++, p = gfMul(p, pts[i])) v[i * n + j] = p;
        }
        const inv = invertVandermonde(Uint8Array.from(pts));
        expect(inv).toEqual(invertMatrix(v, n));
        const identity = new Uint8Array(n * n);
        for (let i = 0; i < n; i++) identity[i * n + i] = 1;
        expect(matMul(v, inv, n, n, n)).toEqual(identity);
      }),
      { numRuns: 30 },
    );
  });

  it('builds a systematic encode matrix', () => {
    const e = encodeMatrix(3, 10);
    expect([...e.subarray(0, 9)]).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(encodeMatrix(3, 10)).toBe(e); // cached
  });

  it('uses alpha = 0x02: the worked k = 2, n = 4 matrix of format.md section 6', () => {
    // Vandermonde rows [1, a] for a = 0, 1, 2, 4, times the inverse of [[1, 0], [1, 1]] (itself, in GF(2^8)).
    expect([...encodeMatrix(2, 4)]).toEqual([1, 0, 0, 1, 3, 2, 5, 4]);
  });
});

describe('kernels', () => {
  const simd = wasmSimdKernel();
  const kernels: GfKernel[] = [jsU32Kernel(), ...(simd === null ? [] : [simd])];

  it('has WebAssembly SIMD on this Node', () => {
    expect(simd?.name).toBe('wasm-simd');
  });

  it.each(kernels.map((k) => [k.name, k] as const))('%s computes coef × inputs for any length and alignment', (_n, kernel) => {
    const lengths = [0, 1, 3, 15, 16, 63, 64, 65, 1000, 65535, 65536, 65537, 140_003];
    for (const len of lengths) {
      const nIn = 1 + (len % 5);
      const nOut = 1 + (len % 3);
      const coef = Uint8Array.from(range(nIn * nOut), (i) => (i * 89 + len) & 255);
      // Odd byte offsets, so nothing is word-aligned.
      const inputs = range(nIn).map((j) => bytes(len + 3, j + 1).subarray(j % 4, (j % 4) + len));
      // Stale bytes in the outputs (recycled or unzeroed buffers) must not leak into the result.
      const outputs = range(nOut).map(() => new Uint8Array(len + 5).fill(0xa5).subarray(1, 1 + len));
      kernel.matmul(coef, inputs, outputs, len);
      for (let o = 0; o < nOut; o++) {
        const want = new Uint8Array(len);
        for (let j = 0; j < nIn; j++) for (let i = 0; i < len; i++) want[i] ^= MUL[(coef[o * nIn + j] << 8) | inputs[j][i]];
        expect(Buffer.from(outputs[o]).equals(want), `len=${len} out=${o}`).toBe(true);
      }
    }
  });
});

describe('ErasureCodec', () => {
  it('decodes any k of the m shares, in any order', () => {
    fc.assert(
      fc.property(caseArb, ({ k, m, blocks, nums }) => {
        const codec = new ErasureCodec(k, m);
        const shares = codec.encode(blocks);
        expect(shares).toHaveLength(m);
        const out = codec.decode(nums.map((n) => shares[n]), nums);
        expect(out.map((b) => Buffer.from(b).toString('hex'))).toEqual(blocks.map((b) => Buffer.from(b).toString('hex')));
      }),
      { numRuns: 150 },
    );
  });

  it('encodeShares equals the matching encode outputs', () => {
    fc.assert(
      fc.property(
        caseArb.chain((c) => fc.record({ c: fc.constant(c), want: fc.shuffledSubarray(range(c.m), { minLength: 0, maxLength: c.m }) })),
        ({ c: { k, m, blocks }, want }) => {
          const codec = new ErasureCodec(k, m);
          const all = codec.encode(blocks);
          const some = codec.encodeShares(blocks, want);
          expect(some.map((s) => Buffer.from(s).toString('hex'))).toEqual(want.map((n) => Buffer.from(all[n]).toString('hex')));
          want.forEach((n, i) => n < k && expect(some[i]).toBe(blocks[n]));
        },
      ),
      { numRuns: 80 },
    );
  });

  it('gives the same shares with the SIMD and the portable kernel', () => {
    const simd = wasmSimdKernel();
    if (simd === null) return;
    fc.assert(
      fc.property(caseArb, ({ k, m, blocks }) => {
        const a = new ErasureCodec(k, m, { kernel: simd }).encode(blocks);
        const b = new ErasureCodec(k, m, { kernel: jsU32Kernel() }).encode(blocks);
        expect(a).toEqual(b);
      }),
      { numRuns: 40 },
    );
  });

  it('returns the inputs as primaries and writes into caller buffers', () => {
    const codec = new ErasureCodec(3, 5);
    const blocks = range(3).map((i) => bytes(100, i));
    const outs = [new Uint8Array(100), new Uint8Array(150)];
    const shares = codec.encode(blocks, outs);
    expect(shares[0]).toBe(blocks[0]);
    expect(shares[3]).toBe(outs[0]);
    expect(shares[4].buffer).toBe(outs[1].buffer);
    expect(shares[4]).toHaveLength(100);

    const target = new Uint8Array(100);
    const decoded = codec.decode([shares[4], shares[1], shares[3]], [4, 1, 3], [target, undefined, undefined]);
    expect(decoded[0]).toBe(target);
    expect(decoded[1]).toBe(shares[1]);
    expect(decoded.map((b) => Buffer.from(b).toString('hex'))).toEqual(blocks.map((b) => Buffer.from(b).toString('hex')));
  });

  it('handles empty blocks and k = m', () => {
    expect(new ErasureCodec(2, 4).encode([new Uint8Array(0), new Uint8Array(0)]).map((s) => s.length)).toEqual([0, 0, 0, 0]);
    const blocks = range(4).map((i) => bytes(9, i));
    const codec = new ErasureCodec(4, 4);
    expect(codec.encode(blocks)).toEqual(blocks);
    expect(codec.decode([blocks[2], blocks[0], blocks[3], blocks[1]], [2, 0, 3, 1])).toEqual(blocks);
  });

  it('rejects bad parameters and arguments with INVALID_PARAMETERS', () => {
    for (const [k, m] of [[0, 1], [2, 1], [1, 257], [1.5, 3], [Number.NaN, 3]]) {
      expectInvalid(() => new ErasureCodec(k, m), /1 <= k <= m <= 256/);
    }
    const codec = new ErasureCodec(3, 10);
    const b = (n: number) => new Uint8Array(n);
    expectInvalid(() => codec.encode([b(4), b(4)]), /exactly 3 blocks, got 2/);
    expectInvalid(() => codec.encode([b(4), b(4), b(5)]), /same length/);
    expectInvalid(() => codec.encode([b(4), b(4), 'x' as unknown as Uint8Array]), /not a Uint8Array/);
    expectInvalid(() => codec.encode([b(4), b(4), b(4)], [b(4)]), /m-k = 7/);
    expectInvalid(() => codec.encode([b(4), b(4), b(4)], range(7).map(() => b(3))), /needs 4/);
    expectInvalid(() => codec.encodeShares([b(4), b(4), b(4)], [3, 3]), /duplicate share number 3/);
    expectInvalid(() => codec.encodeShares([b(4), b(4), b(4)], [10]), /out of range 0..9/);
    expectInvalid(() => codec.encodeShares([b(4), b(4), b(4)], [-1]), /out of range/);
    expectInvalid(() => codec.encodeShares([b(4), b(4), b(4)], [1.5]), /out of range/);
    expectInvalid(() => codec.decode([b(4), b(4)], [0, 1]), /exactly 3 shares/);
    expectInvalid(() => codec.decode([b(4), b(4), b(4)], [0, 1]), /one share number per share/);
    expectInvalid(() => codec.decode([b(4), b(4), b(4)], [0, 1, 1]), /duplicate share number 1/);
    expectInvalid(() => codec.decode([b(4), b(4), b(4)], [0, 1, 10]), /out of range/);
    expectInvalid(() => codec.decode([b(4), b(5), b(4)], [0, 1, 2]), /same length/);
  });
});

describe('CodecPool', () => {
  const pool = new CodecPool({ size: 2 });
  afterAll(() => pool.close());

  it('gives the same bytes as the in-thread codec', async () => {
    const cases = fc.sample(caseArb, { numRuns: 12, seed: 42 });
    const results = await Promise.all(
      cases.map(async ({ k, m, blocks, nums }) => {
        const local = new ErasureCodec(k, m).encode(blocks);
        const shares = await pool.encode(k, m, blocks);
        const some = await pool.encodeShares(k, m, blocks, nums);
        const decoded = await pool.decode(k, m, nums.map((n) => local[n]), nums);
        return { local, shares, some, decoded, blocks, nums };
      }),
    );
    for (const { local, shares, some, decoded, blocks, nums } of results) {
      expect(shares).toEqual(local);
      expect(some).toEqual(nums.map((n) => local[n]));
      expect(decoded).toEqual(blocks);
    }
  });

  it('copies inputs by default and moves them with transfer: true', async () => {
    const segment = bytes(3000, 7);
    const blocks = range(3).map((i) => segment.subarray(i * 1000, (i + 1) * 1000));
    const want = new ErasureCodec(3, 10).encode(blocks.map((b) => b.slice()));
    expect(await pool.encode(3, 10, blocks)).toEqual(want);
    expect(segment.byteLength).toBe(3000); // still ours
    const moved = await pool.encode(3, 10, blocks, { transfer: true });
    expect(segment.byteLength).toBe(0); // detached: the worker took (and returned) it
    expect(moved).toEqual(want);
  });

  it('fills caller output buffers (transferred there and back) for recycling', async () => {
    const blocks = range(3).map((i) => bytes(500, i));
    const want = new ErasureCodec(3, 10).encode(blocks);
    const checks = range(7).map(() => new Uint8Array(600));
    const shares = await pool.encode(3, 10, blocks, { outputs: checks });
    expect(checks[0].byteLength).toBe(0); // detached: now behind shares[3]
    expect(shares[3].buffer.byteLength).toBe(600);
    expect(shares).toEqual(want);
    const rebuilt = [new Uint8Array(500), undefined, new Uint8Array(500)];
    const decoded = await pool.decode(3, 10, [shares[9], shares[1], shares[4]], [9, 1, 4], { outputs: rebuilt });
    expect(rebuilt[0]?.byteLength).toBe(0);
    expect(decoded).toEqual(blocks);
    await expect(pool.encode(3, 10, blocks, { outputs: range(7).map(() => new Uint8Array(499)) })).rejects.toThrow(/at least 500 bytes/);
  });

  it('reports argument errors as FormatError, before sending anything', async () => {
    await expect(pool.encode(3, 2, [])).rejects.toMatchObject({ name: 'FormatError', code: 'INVALID_PARAMETERS' });
    await expect(pool.decode(2, 4, [new Uint8Array(2), new Uint8Array(2)], [1, 1])).rejects.toBeInstanceOf(FormatError);
  });

  it('does not keep the process alive when idle, even without close()', () => {
    const poolUrl = new URL('../../core/erasure/pool.ts', import.meta.url).href;
    const script = `
      import { CodecPool } from ${JSON.stringify(poolUrl)};
      const pool = new CodecPool({ size: 2 });
      const out = await Promise.all([pool.encode(1, 2, [new Uint8Array(4)]), pool.encode(2, 3, [new Uint8Array(4), new Uint8Array(4)])]);
      console.log(out.map((s) => s.length).join(','));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('2,3');
  });

  it('closes cleanly and refuses work afterwards', async () => {
    const p = new CodecPool({ size: 1 });
    expect(await p.encode(1, 2, [bytes(10, 1)])).toHaveLength(2);
    const inflight = expect(p.encode(2, 3, [bytes(1 << 20, 1), bytes(1 << 20, 2)])).rejects.toBeInstanceOf(FerryError);
    await p.close();
    await inflight;
    await expect(p.encode(1, 2, [bytes(10, 1)])).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
