/**
 * The encoder's block source against the reference in-memory encoder: the
 * same blocks, headers and trailers, whether the codec hashes in its
 * workers or not; block-hash leaves are spilled to disk, so the memory they
 * hold does not grow with the segment count.
 */
import { randomBytes } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodecPool, ErasureCodec } from '../../../core/erasure/index.js';
import { HASH_BYTES, MerkleTree } from '../../../core/merkle.js';
import { fileGeometry, segmentRange, type FileGeometry } from '../../../core/params.js';
import { crypttextSegmentHash } from '../../../core/share-builder.js';
import { blockRange, shareLayout } from '../../../core/share-layout.js';
import { EncoderSource, type EncodeFn } from '../../../helper/encode/encoder-source.js';
import { flatTree } from '../../../helper/encode/flat-tree.js';
import { LeafSpill } from '../../../helper/encode/leaf-spill.js';
import type { ShareTails } from '../../../helper/push/pusher.js';
import { encodeInMemory } from '../../support/memory-shares.js';
import { tempDir } from '../../support/tmp.js';

let dir: string;
let cleanup: () => Promise<void>;
const pool = new CodecPool({ size: 2 });
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(async () => {
  await pool.close();
  await cleanup();
});

const inThread: EncodeFn = async (k, n, blocks) => new ErasureCodec(k, n).encode(blocks);
const inWorkers: EncodeFn = (k, n, blocks, len) => pool.encodeHashed(k, n, blocks, len);

/** Runs an EncoderSource over `ct` and returns the n shares it produced, assembled. */
async function encodeWithSource(ct: Buffer, g: FileGeometry, encode: EncodeFn): Promise<{ shares: Buffer[]; source: EncoderSource }> {
  const spool = path.join(dir, `spool-${randomBytes(4).toString('hex')}`);
  await writeFile(spool, ct);
  const layout = shareLayout(g);
  const hashes = Buffer.concat(Array.from({ length: g.numSegments }, (_, i) => crypttextSegmentHash(ct.subarray(segmentRange(g, i).start, segmentRange(g, i).end))));
  const root = new MerkleTree(Array.from({ length: g.numSegments }, (_, i) => hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES))).root.toString('hex');
  const source = new EncoderSource({ geometry: g, layout, spoolFile: async () => spool, segmentHashes: hashes, crypttextRoot: root, currentRoot: async () => root, encode });
  const shares = Array.from({ length: g.n }, () => Buffer.alloc(layout.end));
  const all = Array.from({ length: g.n }, (_, s) => s);
  await source.feed(all, async (i, blockOf) => {
    for (const s of all) shares[s].set(blockOf(s), blockRange(layout, i).offset);
  });
  const tails = (await source.trailers(all)) as ShareTails;
  for (const s of all) {
    const t = await tails.get(s);
    shares[s].set(t.header, 0);
    shares[s].set(t.trailer, layout.blockTreeOffset);
  }
  await tails.close?.();
  return { shares, source };
}

describe('EncoderSource', () => {

  it('fails with the reason, and leaves no unhandled rejection, when aborted before its first segment (a helper shutting down)', async () => {
    const ct = randomBytes(3 * 65536);
    const g = fileGeometry(ct.length, { k: 3, n: 5, maxSegmentSize: 65536 });
    const spool = path.join(dir, `spool-${randomBytes(4).toString('hex')}`);
    await writeFile(spool, ct);
    const stop = new AbortController();
    stop.abort(new Error('helper shutting down'));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const source = new EncoderSource({
        geometry: g,
        layout: shareLayout(g),
        spoolFile: async () => spool,
        segmentHashes: new Uint8Array(g.numSegments * HASH_BYTES),
        crypttextRoot: 'root',
        currentRoot: async () => 'root',
        encode: inThread,
        signal: stop.signal,
        // As the upload runner's wait for spooled bytes: it rejects with the abort reason.
        available: async (_end, signal) => {
          await Promise.resolve();
          throw signal?.reason;
        },
      });
      await expect(source.feed([0], async () => undefined)).rejects.toThrow('helper shutting down');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
  for (const [name, encode] of [['hashing in the codec workers', inWorkers], ['hashing on the main thread', inThread]] as const) {
    it(`produces exactly the reference shares (${name}, padded tail, padded trees)`, async () => {
      const g = fileGeometry(5 * 3000 + 7, { k: 3, n: 7, maxSegmentSize: 3000 });
      const ct = randomBytes(g.size);
      const { shares, source } = await encodeWithSource(ct, g, encode);
      const ref = encodeInMemory(ct, g);
      shares.forEach((sh, s) => expect(sh.equals(ref.shares[s]), `share ${s}`).toBe(true));
      expect(source.result().uebHash.equals(ref.uebHash)).toBe(true);
    });
  }

  it('refuses a spool segment whose bytes do not hash to its committed leaf, before any of its blocks leave', async () => {
    const g = fileGeometry(4 * 1024, { k: 2, n: 4, maxSegmentSize: 1024 });
    const ct = randomBytes(g.size);
    const spool = path.join(dir, 'tampered');
    const tampered = Buffer.from(ct);
    tampered[2 * 1024 + 5] ^= 1;
    await writeFile(spool, tampered);
    const hashes = Buffer.concat(Array.from({ length: 4 }, (_, i) => crypttextSegmentHash(ct.subarray(i * 1024, (i + 1) * 1024))));
    const root = new MerkleTree(Array.from({ length: 4 }, (_, i) => hashes.subarray(i * 32, (i + 1) * 32))).root.toString('hex');
    const source = new EncoderSource({ geometry: g, layout: shareLayout(g), spoolFile: async () => spool, segmentHashes: hashes, crypttextRoot: root, currentRoot: async () => root, encode: inWorkers });
    const delivered: number[] = [];
    await expect(source.feed([0, 1, 2, 3], async (i) => void delivered.push(i))).rejects.toMatchObject({ name: 'SpoolMismatch', segment: 2 });
    expect(delivered).toEqual([0, 1]);
  });

  it('holds a bounded window of block-hash leaves in memory whatever the segment count, and leaves no file behind', async () => {
    const memoryFor = async (segments: number) => {
      const g = fileGeometry(segments * 64, { k: 2, n: 10, maxSegmentSize: 64 });
      const { source } = await encodeWithSource(randomBytes(g.size), g, inWorkers);
      return source.leafMemoryBytes;
    };
    const small = await memoryFor(64);
    const large = await memoryFor(4096); // 40,960 leaves: 1.25 MiB of hashes
    expect(large).toBeLessThanOrEqual(256 * 1024);
    expect(large).toBeLessThan(4096 * 10 * HASH_BYTES);
    expect(small).toBeLessThanOrEqual(large);
    expect((await readdir(dir)).filter((f) => f.startsWith('.leaves-'))).toEqual([]);
  }, 60_000);
});

describe('flat trees and the leaf spill', () => {
  it('builds the same trees as core MerkleTree, node for node', async () => {
    for (const count of [1, 2, 3, 5, 8, 1000]) {
      const leaves = Array.from({ length: count }, () => randomBytes(32));
      expect((await flatTree(Buffer.concat(leaves))).equals(new MerkleTree(leaves).serialize()), `${count} leaves`).toBe(true);
    }
  });

  it('gives back each share\'s block tree from the spill', async () => {
    const n = 3;
    const segments = 3000; // several windows
    const spill = await LeafSpill.open(dir, n, segments);
    const leaves = Array.from({ length: n }, () => Array.from({ length: segments }, () => randomBytes(32)));
    try {
      for (let i = 0; i < segments; i++) await spill.add(i, Buffer.concat(leaves.map((l) => l[i])));
      const roots = await spill.buildTrees();
      for (let s = 0; s < n; s++) {
        const tree = new MerkleTree(leaves[s]);
        expect(roots[s].equals(tree.root)).toBe(true);
        expect((await spill.treeOf(s)).equals(tree.serialize())).toBe(true);
      }
    } finally {
      await spill.close();
    }
  });
});
