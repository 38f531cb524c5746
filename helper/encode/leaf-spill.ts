/**
 * The block-hash leaves of every share of one encode, spilled to a temp file
 * as segments are coded, so the encoder's memory does not grow with the file
 * (n shares × segments × 32 bytes: gigabytes at the limits). The file is
 * unlinked as soon as it is open: nothing is left behind by a crash.
 *
 * Layout: the leaves, share by share (share s's leaf i at (s × segments + i) × 32),
 * then each share's finished block tree (flat-tree.ts), share by share.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { HASH_BYTES, paddedLeafCount } from '../../core/merkle.js';
import { completeFlatTree, flatTreeBytes } from './flat-tree.js';

/** Leaves buffered before they are written out (all shares together). */
const WINDOW_BYTES = 256 * 1024;

async function writeFully(fh: fs.FileHandle, buf: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < buf.length; ) done += (await fh.write(buf, done, buf.length - done, position + done)).bytesWritten;
}

async function readFully(fh: fs.FileHandle, buf: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < buf.length; ) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, position + done);
    if (bytesRead === 0) throw new Error('leaf spill file ended early');
    done += bytesRead;
  }
}

export class LeafSpill {
  /** Segments per window. */
  private readonly window: number;
  /** The window's leaves, share-major: share s's leaf (start + w) at (s × window + w) × 32. */
  private readonly buf: Uint8Array;
  private windowStart = 0;
  private next = 0;
  private roots: Buffer[] | undefined;

  private constructor(
    private readonly fh: fs.FileHandle,
    readonly n: number,
    readonly segments: number,
  ) {
    this.window = Math.max(1, Math.min(segments, Math.floor(WINDOW_BYTES / (n * HASH_BYTES))));
    this.buf = new Uint8Array(this.window * n * HASH_BYTES);
  }

  /** A spill for `n` shares of `segments` segments, in `dir`. */
  static async open(dir: string, n: number, segments: number): Promise<LeafSpill> {
    const file = path.join(dir, `.leaves-${randomBytes(8).toString('hex')}`);
    const fh = await fs.open(file, 'wx+', 0o600);
    await fs.unlink(file).catch(async (err: unknown) => {
      await fh.close();
      throw err;
    });
    return new LeafSpill(fh, n, segments);
  }

  /** Bytes of leaves held in memory: the window, whatever the file size. */
  get memoryBytes(): number {
    return this.buf.length;
  }

  /** Segment i's n block hashes (n × 32 bytes, share order). Segments come in order, each once. */
  async add(i: number, hashes: Uint8Array): Promise<void> {
    if (i !== this.next) throw new Error(`leaf spill expected segment ${this.next}, got ${i}`);
    if (hashes.length !== this.n * HASH_BYTES) throw new Error(`segment ${i}: need ${this.n} block hashes`);
    const w = i - this.windowStart;
    for (let s = 0; s < this.n; s++) this.buf.set(hashes.subarray(s * HASH_BYTES, (s + 1) * HASH_BYTES), (s * this.window + w) * HASH_BYTES);
    this.next++;
    if (w + 1 === this.window || this.next === this.segments) await this.flushWindow(w + 1);
  }

  private async flushWindow(count: number): Promise<void> {
    for (let s = 0; s < this.n; s++) {
      const part = this.buf.subarray(s * this.window * HASH_BYTES, (s * this.window + count) * HASH_BYTES);
      await writeFully(this.fh, part, (s * this.segments + this.windowStart) * HASH_BYTES);
    }
    this.windowStart += count;
  }

  private get treeBase(): number {
    return this.n * this.segments * HASH_BYTES;
  }

  /**
   * Once every segment is in: builds each share's block tree (one in memory
   * at a time), keeps it in the file for treeOf(), and returns the roots.
   */
  async buildTrees(): Promise<Buffer[]> {
    if (this.next !== this.segments) throw new Error(`leaf spill has ${this.next} of ${this.segments} segments`);
    const bytes = flatTreeBytes(this.segments);
    const nodes = Buffer.allocUnsafe(bytes);
    const leavesAt = (paddedLeafCount(this.segments) - 1) * HASH_BYTES;
    const roots: Buffer[] = [];
    for (let s = 0; s < this.n; s++) {
      await readFully(this.fh, nodes.subarray(leavesAt, leavesAt + this.segments * HASH_BYTES), s * this.segments * HASH_BYTES);
      await completeFlatTree(nodes, this.segments);
      await writeFully(this.fh, nodes, this.treeBase + s * bytes);
      roots.push(Buffer.from(nodes.subarray(0, HASH_BYTES)));
    }
    this.roots = roots;
    return roots;
  }

  /** Share s's block tree, serialized (all nodes, heap order), after buildTrees(). */
  async treeOf(s: number): Promise<Buffer> {
    if (!this.roots) throw new Error('leaf spill: treeOf() before buildTrees()');
    const bytes = flatTreeBytes(this.segments);
    const out = Buffer.allocUnsafe(bytes);
    await readFully(this.fh, out, this.treeBase + s * bytes);
    return out;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

