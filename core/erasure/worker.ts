/**
 * Worker-thread side of CodecPool: runs one codec call per message and sends the
 * results back, transferring their buffers (the worker owns everything it received).
 */
import { parentPort } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { isFerryError } from '../errors.js';
import { netstring, TAGS } from '../tagged-hash.js';
import { ErasureCodec } from './codec.js';
import { transferablesOf, type CodecHashes, type CodecRequest, type CodecResponse, type SerializedError } from './protocol.js';

const codecs = new Map<string, ErasureCodec>();

function codecFor(k: number, m: number): ErasureCodec {
  const key = `${k}/${m}`;
  let codec = codecs.get(key);
  if (codec === undefined) {
    codec = new ErasureCodec(k, m);
    if (codecs.size >= 16) codecs.clear();
    codecs.set(key, codec);
  }
  return codec;
}

/**
 * `count` fresh result buffers. Separate allocations measured faster than one slab
 * (a multi-MiB slab is freshly mapped memory each time); callers avoid both by
 * passing `outputs`.
 */
function freshBuffers(count: number, len: number): Uint8Array[] {
  return Array.from({ length: count }, () => new Uint8Array(len));
}

function run(req: CodecRequest): Uint8Array[] {
  const codec = codecFor(req.k, req.m);
  const { k, m, blocks, outputs } = req;
  const len = blocks[0]?.length ?? 0;
  const nums = req.shareNums ?? [];
  switch (req.op) {
    case 'encode':
      return codec.encode(blocks, (outputs as Uint8Array[] | undefined) ?? freshBuffers(m - k, len));
    case 'encodeShares': {
      if (outputs !== undefined) return codec.encodeShares(blocks, nums, outputs);
      const views = freshBuffers(nums.filter((s) => s >= k).length, len);
      return codec.encodeShares(blocks, nums, nums.map((s) => (s >= k ? views.pop() : undefined)));
    }
    case 'decode': {
      if (outputs !== undefined) return codec.decode(blocks, nums, outputs);
      const present = new Set(nums.filter((s) => s < k));
      const views = freshBuffers(Math.max(0, k - present.size), len);
      return codec.decode(blocks, nums, Array.from({ length: k }, (_, p) => (present.has(p) ? undefined : views.pop())));
    }
    default:
      throw new Error(`unknown codec op ${String(req.op)}`);
  }
}

const SEGMENT_TAG = netstring(TAGS.crypttextSegment);
const BLOCK_TAG = netstring(TAGS.block);

/** The segment's hash (its unpadded bytes, across the k input blocks) and every share block's. */
function hashesOf(inputs: readonly Uint8Array[], shares: readonly Uint8Array[], segmentLength: number): CodecHashes {
  const seg = createHash('sha256').update(SEGMENT_TAG);
  let left = segmentLength;
  for (const b of inputs) {
    if (left <= 0) break;
    seg.update(left >= b.length ? b : b.subarray(0, left));
    left -= b.length;
  }
  const blocks = new Uint8Array(shares.length * 32);
  shares.forEach((b, i) => blocks.set(createHash('sha256').update(BLOCK_TAG).update(b).digest(), i * 32));
  return { segment: new Uint8Array(seg.digest()), blocks };
}

function serializeError(err: unknown): SerializedError {
  if (isFerryError(err)) return { name: err.name, code: err.code, message: err.message };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}

const port = parentPort;
if (port !== null) {
  port.on('message', (req: CodecRequest) => {
    let reply: CodecResponse;
    let transfer: ArrayBuffer[] = [];
    try {
      const blocks = run(req);
      const hashes = req.hash && req.op === 'encode' ? hashesOf(req.blocks, blocks, req.hash.segmentLength) : undefined;
      transfer = transferablesOf(blocks);
      const used = new Set(transfer);
      const spare = transferablesOf(req.blocks).filter((b) => !used.has(b));
      transfer.push(...spare);
      reply = { id: req.id, ok: true, blocks, spare, ...(hashes && { hashes }) };
    } catch (err) {
      reply = { id: req.id, ok: false, error: serializeError(err) };
    }
    port.postMessage(reply, transfer);
  });
}
