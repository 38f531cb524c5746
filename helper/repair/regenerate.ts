/**
 * Re-creating share blocks from k good shares, segment by segment:
 *
 *   1. each source's stored block tree is checked against its verified root
 *      (so its leaves can be trusted), and one source's crypttext tree
 *      against the UEB's crypttext root;
 *   2. blocks are read in windows of a few MiB per source (one range request
 *      per source and window, the next window read while this one is coded);
 *   3. per segment: every source block is hashed and compared with its leaf,
 *      the k blocks are decoded to the primary blocks, the segment (padding
 *      removed) is hashed and compared with its crypttext leaf, the wanted
 *      share numbers are encoded, hashed, and handed to the share sinks.
 *
 * Memory: two windows of source blocks and the blocks of three segments,
 * whatever the file size, plus 32 bytes per segment for every share computed.
 */
import { FerryError, IntegrityError } from '../../core/errors.js';
import { HASH_BYTES, MerkleTree } from '../../core/merkle.js';
import { segmentRange } from '../../core/params.js';
import { blockHashesAsync } from '../../core/share-builder.js';
import { encodeShareHeader } from '../../core/share-layout.js';
import { framedBuffer, framedDigest, frameLength, TAGS } from '../../core/tagged-hash.js';
import { messageOf, type ShareCopy } from '../grid/grid.js';
import { readPieces, type GridIo } from '../grid/io.js';
import type { FileShape } from '../grid/open-file.js';
import { classifyShareFailure, type ShareFailure } from '../grid/share-failure.js';
import type { BlockSource } from '../push/pusher.js';
import type { RepairCodec } from './codec.js';
import { verifyStoredTree } from './tree-check.js';
import { blocksSpan, cutBlocks, leavesSpan, segmentWindows, treeReader } from './verify-shares.js';

/** A source copy failed: corrupt (bad hash, short), gone or unreachable. The pass starts again without it. */
export class SourceFailure extends Error {
  constructor(
    readonly copy: ShareCopy,
    readonly kind: Exclude<ShareFailure, 'aborted'>,
    readonly reason: string,
    cause?: unknown,
  ) {
    super(`share ${copy.shnum} on ${copy.server.url}: ${reason}`, { cause });
    this.name = 'SourceFailure';
  }
}

export async function guardSource<T>(c: ShareCopy, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const kind = classifyShareFailure(err);
    if (kind === 'aborted' || err instanceof SourceFailure) throw err;
    throw new SourceFailure(c, kind, messageOf(err), err);
  }
}

export interface RegenerateInput {
  file: FileShape;
  /** k copies of distinct share numbers, each with its verified block-tree root. */
  sources: { copy: ShareCopy; root: Buffer }[];
  /** Share numbers whose blocks are computed (and hashed), ascending. */
  compute: number[];
  codec: RepairCodec;
  io: GridIo;
  windowBytes: number;
  /** Called before each segment is coded (tests act at a chosen moment). */
  beforeSegment?: (segment: number) => Promise<void> | void;
}

export interface Regenerated {
  /** shnum -> the hash of its block of every segment. */
  blockHashes: Map<number, Buffer[]>;
  /** The crypttext-tree leaves, from the decoded segments. */
  crypttextLeaves: Buffer[];
}

/** Segments coded ahead of the one being pushed. */
const AHEAD = 2;

interface WindowData {
  /** Per source: its blocks of the window's segments. */
  blocks: Uint8Array[][];
  /** Per source: its block-tree leaves of the window's segments. */
  leaves: Uint8Array[];
  /** Crypttext-tree leaves of the window's segments. */
  crypttext: Uint8Array;
}

/** Regenerates the blocks of `compute`, handing each segment's to `deliver` as it is produced. */
export async function regenerate(inp: RegenerateInput, deliver: (segment: number, blockOf: (shnum: number) => Uint8Array) => Promise<void>): Promise<Regenerated> {
  const { file, io, codec, compute } = inp;
  const l = file.layout;
  const g = l.geometry;
  const sources = [...inp.sources].sort((a, b) => a.copy.shnum - b.copy.shnum);
  const shnums = sources.map((s) => s.copy.shnum);
  if (new Set(shnums).size !== g.k) throw new Error(`regenerate needs ${g.k} distinct source shares, got ${shnums.join(',')}`);
  const identity = shnums.every((s, i) => s === i);
  const windowNodes = Math.max(2, Math.floor(inp.windowBytes / HASH_BYTES));

  // 1. Trust: the sources' leaves, and one copy of the crypttext tree.
  await Promise.all(
    sources.map((src) =>
      guardSource(src.copy, () => verifyStoredTree(treeReader(io, file, src.copy, l.blockTreeOffset), g.numSegments, src.root, `share ${src.copy.shnum} block tree`, windowNodes)),
    ),
  );
  const ctSource = sources[0].copy;
  await guardSource(ctSource, () =>
    verifyStoredTree(treeReader(io, file, ctSource, l.crypttextTreeOffset), g.numSegments, file.ueb.crypttextRoot, `share ${ctSource.shnum} crypttext tree`, windowNodes),
  );

  // 2. Windows of blocks, read one ahead.
  const windows = segmentWindows(g, inp.windowBytes);
  const per = windows[0][1] - windows[0][0];
  const fetched = new Map<number, Promise<WindowData>>();
  const fetchWindow = async (w: number): Promise<WindowData> => {
    const [a, b] = windows[w];
    const bs = blocksSpan(l, a, b);
    const [perSource, crypttext] = await Promise.all([
      Promise.all(sources.map((src) => guardSource(src.copy, () => readPieces(io, src.copy, file.si, [bs, leavesSpan(l, l.blockTreeOffset, a, b)], 0)))),
      guardSource(ctSource, async () => {
        const span = leavesSpan(l, l.crypttextTreeOffset, a, b);
        return (await readPieces(io, ctSource, file.si, [span], 0))[0];
      }),
    ]);
    return { blocks: perSource.map(([bytes]) => cutBlocks(l, a, b, bytes)), leaves: perSource.map(([, leaves]) => leaves), crypttext };
  };
  const windowData = (w: number): Promise<WindowData> => {
    let p = fetched.get(w);
    if (!p) {
      p = fetchWindow(w);
      p.catch(() => undefined); // observed when awaited
      fetched.set(w, p);
    }
    return p;
  };

  const blockHashes = new Map(compute.map((s) => [s, new Array<Buffer>(g.numSegments)]));
  const crypttextLeaves = new Array<Buffer>(g.numSegments);
  const slot = new Map(compute.map((s, i) => [s, i]));

  // 3. Per segment: verify, decode, check, encode, hash.
  const prepare = async (i: number): Promise<Uint8Array[]> => {
    await inp.beforeSegment?.(i);
    io.signal?.throwIfAborted();
    const w = Math.floor(i / per);
    const data = await windowData(w);
    if (w + 1 < windows.length) void windowData(w + 1);
    fetched.delete(w - 1);
    const j = i - windows[w][0];
    const blocks = data.blocks.map((bl) => bl[j]);
    // Checks run alongside the coding that does not depend on them; nothing leaves before both are done.
    const [hashes, primary] = await Promise.all([blockHashesAsync(blocks), identity ? blocks : codec.decode(g.k, g.n, blocks, shnums)]);
    hashes.forEach((h, s) => {
      if (!h.equals(data.leaves[s].subarray(j * HASH_BYTES, (j + 1) * HASH_BYTES))) {
        throw new SourceFailure(sources[s].copy, 'corrupt', `block ${i} fails its hash`);
      }
    });
    const { start, end } = segmentRange(g, i);
    const [leaf, out] = await Promise.all([crypttextLeafAsync(primary, end - start), compute.length ? codec.encodeShares(g.k, g.n, primary, compute) : []]);
    if (!leaf.equals(data.crypttext.subarray(j * HASH_BYTES, (j + 1) * HASH_BYTES))) {
      throw new IntegrityError(`segment ${i} decodes to ciphertext that fails the crypttext hash although its blocks verify: the file's shares are inconsistent`, { segment: i });
    }
    crypttextLeaves[i] = leaf;
    const outHashes = await blockHashesAsync(out);
    compute.forEach((s, o) => (blockHashes.get(s)![i] = outHashes[o]));
    return out;
  };

  // Segments are prepared AHEAD in advance of the one being pushed, each starting once the one before it is coded.
  const prepared: Promise<Uint8Array[]>[] = [];
  let chain: Promise<unknown> = Promise.resolve();
  const launch = (i: number) => {
    const p = chain.then(() => prepare(i));
    p.catch(() => undefined); // observed when its turn comes
    chain = p.catch(() => undefined);
    prepared.push(p);
  };
  for (let i = 0; i < Math.min(AHEAD, g.numSegments); i++) launch(i);
  for (let i = 0; i < g.numSegments; i++) {
    const out = await prepared.shift()!;
    if (i + AHEAD < g.numSegments) launch(i + AHEAD);
    await deliver(i, (s) => out[slot.get(s)!]);
  }
  return { blockHashes, crypttextLeaves };
}

/** The crypttext leaf of a segment from its primary blocks, padding cut off; hashed off the event loop. */
async function crypttextLeafAsync(primary: Uint8Array[], length: number): Promise<Buffer> {
  const buf = framedBuffer(TAGS.crypttextSegment, length);
  let o = frameLength(TAGS.crypttextSegment);
  for (const b of primary) {
    if (o >= buf.length) break;
    const part = b.subarray(0, Math.min(b.length, buf.length - o));
    buf.set(part, o);
    o += part.length;
  }
  return framedDigest(buf);
}

/**
 * Regeneration as the pusher's block source. The trailers are built only
 * once every regenerated share proves to be the one the UEB commits to:
 * through the share tree, or (an extra copy) equal to its good copy's root.
 */
export class RegeneratedShares implements BlockSource {
  private done: Regenerated | undefined;

  constructor(
    private readonly inp: RegenerateInput,
    /** shnum -> verified block-tree root of the good copies. */
    private readonly roots: ReadonlyMap<number, Buffer>,
  ) {}

  async feed(shnums: readonly number[], deliver: (segment: number, blockOf: (shnum: number) => Uint8Array) => Promise<void>): Promise<void> {
    if (shnums.length === 0) return; // every target already had its share
    const k = this.inp.file.ueb.k;
    if (this.inp.sources.length < k) {
      throw new FerryError('UPSTREAM_ERROR', `only ${this.inp.sources.length} of the ${k} good shares needed could be read this time; will retry`);
    }
    this.done = await regenerate(this.inp, deliver);
  }

  async trailers(shnums: readonly number[]): Promise<Map<number, { header: Uint8Array; trailer: Uint8Array }>> {
    if (shnums.length === 0 || !this.done) return new Map();
    const { file, compute } = this.inp;
    const { layout, ueb } = file;
    const trees = new Map(compute.map((s) => [s, new MerkleTree(this.done!.blockHashes.get(s)!)]));
    const roots = Array.from({ length: ueb.n }, (_, s) => this.roots.get(s) ?? trees.get(s)!.root);
    const shareTree = new MerkleTree(roots);
    const crypttextTree = new MerkleTree(this.done.crypttextLeaves);
    const wrong = !shareTree.root.equals(ueb.shareRoot)
      ? 'share'
      : !crypttextTree.root.equals(ueb.crypttextRoot)
        ? 'crypttext'
        : compute.some((s) => this.roots.has(s) && !this.roots.get(s)!.equals(trees.get(s)!.root))
          ? 'block-tree'
          : undefined;
    if (wrong) throw new IntegrityError(`the regenerated shares do not match the file's ${wrong} root: repair abandoned, partial shares removed`);
    const crypttextBytes = crypttextTree.serialize();
    return new Map(
      shnums.map((s) => [s, { header: encodeShareHeader(layout, s), trailer: Buffer.concat([trees.get(s)!.serialize(), ...shareTree.proof(s), crypttextBytes, file.uebBytes]) }]),
    );
  }
}
