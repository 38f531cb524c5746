export { ErasureCodec, validateBlocks, validateCodecParams, validateShareNums, type ErasureCodecOptions } from './codec.js';
export { CodecPool, type CodecPoolOptions, type CodecTaskOptions } from './pool.js';
export { defaultKernel, jsU32Kernel, wasmSimdKernel, type GfKernel } from './kernel.js';
export { decodePlan, encodeMatrix, type DecodePlan } from './matrix.js';
export { GF_POLY, gfInv, gfMul, gfPow } from './gf256.js';
