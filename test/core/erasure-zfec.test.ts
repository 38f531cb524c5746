import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErasureCodec } from '../../core/erasure/codec.js';
import { jsU32Kernel, wasmSimdKernel, type GfKernel } from '../../core/erasure/kernel.js';
import { requireDependency, skipWithout } from '../support/required.js';

interface EncodeVector { k: number; m: number; blockSize: number; blocks: string[]; checkShares: string[] }
interface DigestVector { k: number; m: number; blockSize: number; seed: string; shareSha256: string[] }
interface DecodeVector { k: number; m: number; blockSize: number; shareNums: number[]; shares: string[]; blocks: string[] }
interface Vectors { zfec: string; encode: EncodeVector[]; encodeDigest: DigestVector[]; decode: DecodeVector[] }

const vectors = JSON.parse(readFileSync(new URL('../fixtures/zfec/vectors.json', import.meta.url), 'utf8')) as Vectors;

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

const prngCache = new Map<string, Uint8Array>();

/** The generator's PRNG: SHA-256 of "<seed>/<counter>", concatenated. */
function prng(seed: string, n: number): Uint8Array {
  const hit = prngCache.get(seed);
  if (hit !== undefined && hit.length === n) return hit;
  const out = new Uint8Array(n);
  prngCache.set(seed, out);
  for (let i = 0, off = 0; off < n; i++, off += 32) {
    const d = createHash('sha256').update(`${seed}/${i}`).digest();
    out.set(d.subarray(0, Math.min(32, n - off)), off);
  }
  return out;
}

const simd = wasmSimdKernel();
const kernels: [string, GfKernel][] = [['js-u32', jsU32Kernel()]];
if (simd !== null) kernels.unshift(['wasm-simd', simd]);

describe('zfec vectors', () => {
  it('cover a spread of parameters', () => {
    expect(vectors.encode.length).toBeGreaterThan(40);
    expect(vectors.encode.some((v) => v.blockSize === 0)).toBe(true);
    expect(vectors.encode.some((v) => v.k === 256 && v.m === 256)).toBe(true);
  });

  describe.each(kernels)('kernel %s', (_name, kernel) => {
    it('encodes every vector byte for byte', () => {
      for (const v of vectors.encode) {
        const blocks = v.blocks.map(b64);
        const shares = new ErasureCodec(v.k, v.m, { kernel }).encode(blocks);
        expect(shares).toHaveLength(v.m);
        for (let i = 0; i < v.k; i++) expect(shares[i]).toBe(blocks[i]);
        const got = shares.slice(v.k).map(hex);
        expect(got, `k=${v.k} m=${v.m} size=${v.blockSize}`).toEqual(v.checkShares.map((s) => hex(b64(s))));
      }
    });

    it('matches the digest vectors (long and unaligned blocks)', () => {
      for (const v of vectors.encodeDigest) {
        const data = prng(v.seed, v.k * v.blockSize);
        const blocks = Array.from({ length: v.k }, (_, i) => data.subarray(i * v.blockSize, (i + 1) * v.blockSize));
        const shares = new ErasureCodec(v.k, v.m, { kernel }).encode(blocks);
        expect(shares.map(sha256), `k=${v.k} m=${v.m} size=${v.blockSize}`).toEqual(v.shareSha256);
      }
    });

    it('decodes from the vectors share subsets', () => {
      for (const v of vectors.decode) {
        const out = new ErasureCodec(v.k, v.m, { kernel }).decode(v.shares.map(b64), v.shareNums);
        expect(out.map(hex), `k=${v.k} m=${v.m} nums=${v.shareNums.join(',')}`).toEqual(v.blocks.map((s) => hex(b64(s))));
      }
    });
  });
});

const PYTHON = '/usr/bin/python3';
const hasZfec = spawnSync(PYTHON, ['-c', 'import zfec'], { stdio: 'ignore' }).status === 0;

// One request per line on stdin: {k, m, blocks: [b64], nums}; one reply per line.
const ZFEC_SERVER = `
import sys, json, base64, zfec
for line in sys.stdin:
    r = json.loads(line)
    k, m, nums = r['k'], r['m'], r['nums']
    shares = zfec.Encoder(k, m).encode([base64.b64decode(b) for b in r['blocks']])
    dec = zfec.Decoder(k, m).decode([bytes(shares[n]) for n in nums], nums)
    enc = lambda bs: [base64.b64encode(bytes(b)).decode() for b in bs]
    sys.stdout.write(json.dumps({'shares': enc(shares), 'decoded': enc(dec)}) + '\\n')
    sys.stdout.flush()
`;

describe.skipIf(skipWithout(hasZfec))('live cross-check against zfec', () => {
  let child: ChildProcessWithoutNullStreams;
  let lines: Interface;
  let replies: AsyncIterator<string>;

  beforeAll(() => {
    requireDependency(hasZfec, 'python3 with zfec');
    child = spawn(PYTHON, ['-c', ZFEC_SERVER]);
    lines = createInterface({ input: child.stdout });
    replies = lines[Symbol.asyncIterator]();
  });

  afterAll(() => {
    if (!hasZfec) return;
    lines.close();
    child.stdin.end();
    child.kill();
  });

  async function zfec(k: number, m: number, blocks: Uint8Array[], nums: number[]): Promise<{ shares: string[]; decoded: string[] }> {
    const req = { k, m, nums, blocks: blocks.map((b) => Buffer.from(b).toString('base64')) };
    child.stdin.write(`${JSON.stringify(req)}\n`);
    const next = await replies.next();
    if (next.done === true) throw new Error('zfec helper exited');
    return JSON.parse(next.value) as { shares: string[]; decoded: string[] };
  }

  const caseArb = fc
    .oneof(
      { weight: 4, arbitrary: fc.integer({ min: 1, max: 16 }) },
      { weight: 1, arbitrary: fc.integer({ min: 17, max: 256 }) },
    )
    .chain((m) => fc.record({ m: fc.constant(m), k: fc.integer({ min: 1, max: m }), len: fc.integer({ min: 0, max: m > 16 ? 40 : 3000 }) }))
    .chain(({ k, m, len }) =>
      fc.record({
        k: fc.constant(k),
        m: fc.constant(m),
        blocks: fc.array(fc.uint8Array({ minLength: len, maxLength: len }), { minLength: k, maxLength: k }),
        nums: fc.shuffledSubarray([...Array(m).keys()], { minLength: k, maxLength: k }),
      }),
    );

  it('encodes and decodes exactly as zfec for random (k, m, data)', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async ({ k, m, blocks, nums }) => {
        const theirs = await zfec(k, m, blocks, nums);
        const codec = new ErasureCodec(k, m);
        const ours = codec.encode(blocks);
        expect(ours.map((s) => Buffer.from(s).toString('base64'))).toEqual(theirs.shares);
        const decoded = codec.decode(nums.map((n) => ours[n]), nums);
        expect(decoded.map((b) => Buffer.from(b).toString('base64'))).toEqual(theirs.decoded);
      }),
      { numRuns: 40 },
    );
  });
});
