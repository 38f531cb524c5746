/**
 * The GF(256) multiply kernels side by side, on the encode work of one 3-of-10
 * 1 MiB segment (7 check blocks from 3 blocks of 349526 bytes): why the codec
 * uses the WebAssembly SIMD kernel. MB/s of segment data, best of 5.
 *
 *   npm run build && node dist/bench/codec-kernels.js
 */
import { pathToFileURL } from 'node:url';
import { MUL } from '../core/erasure/gf256.js';
import { jsU32Kernel, wasmSimdKernel, type GfKernel } from '../core/erasure/kernel.js';
import { encodeMatrix } from '../core/erasure/matrix.js';

/** The textbook loop (zfec's, in JS): one 256-entry row of the product table per coefficient. */
const byteTableKernel: GfKernel = {
  name: 'js-byte-table',
  matmul(coef, inputs, outputs, len) {
    const nIn = inputs.length;
    outputs.forEach((out, o) => {
      out.fill(0, 0, len);
      inputs.forEach((src, j) => {
        const row = MUL.subarray(coef[o * nIn + j] << 8, (coef[o * nIn + j] << 8) + 256);
        for (let i = 0; i < len; i++) out[i] ^= row[src[i]];
      });
    });
  },
};

export interface KernelBenchRow {
  kernel: string;
  encodeMBps: number;
}

export function benchKernels(): KernelBenchRow[] {
  const k = 3;
  const m = 10;
  const len = Math.ceil((1 << 20) / k);
  const coef = encodeMatrix(k, m).subarray(k * k);
  const inputs = Array.from({ length: k }, (_, j) => Uint8Array.from({ length: len }, (_, i) => (i * 31 + j * 7) & 255));
  const outputs = Array.from({ length: m - k }, () => new Uint8Array(len));
  const simd = wasmSimdKernel();
  const kernels = [byteTableKernel, jsU32Kernel(), ...(simd === null ? [] : [simd])];
  return kernels.map((kernel) => {
    const reps = kernel === simd ? 20 : 3;
    kernel.matmul(coef, inputs, outputs, len);
    let best = Infinity;
    for (let r = 0; r < 5; r++) {
      const t = performance.now();
      for (let i = 0; i < reps; i++) kernel.matmul(coef, inputs, outputs, len);
      best = Math.min(best, (performance.now() - t) / reps);
    }
    return { kernel: kernel.name, encodeMBps: (k * len) / best / 1e3 };
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const row of benchKernels()) console.log(`${row.kernel.padEnd(16)}${row.encodeMBps.toFixed(0).padStart(8)} MB/s`);
}
