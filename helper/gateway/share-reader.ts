/**
 * One share of a file on one server, read block by block. The first read
 * also fetches the share's block-tree root and share hash chain and checks them
 * against the UEB's share root (once); every block is then checked against that
 * root with its uncle chain before it is handed out. All offsets come from
 * core/share-layout.ts; the pieces one call needs are coalesced into as few
 * Range requests as possible and fetched concurrently.
 */
import { createHash } from 'node:crypto';
import { FerryError, IntegrityError } from '../../core/errors.js';
import { HASH_BYTES, rootFromProof, uncleIndices } from '../../core/merkle.js';
import { blockRange } from '../../core/share-layout.js';
import { hashesAt, ShareVerifier } from '../../core/share-verify.js';
import { frameLength, TAGS } from '../../core/tagged-hash.js';
import type { GridServer } from '../grid/grid.js';
import { readExact, readFramed, type GridIo } from '../grid/io.js';
import type { FileShape } from '../grid/open-file.js';
import { classifyShareFailure, type ShareFailure } from '../grid/share-failure.js';
import type { BlockRuns } from './block-runs.js';
import { fetchWants, NodeCache, nodeWants, PROOF_WINDOW, unclesOfLeaves, WINDOW_NODES, type Want } from './tree-nodes.js';


/** What a share reader needs of its file. */
export type ReaderFile = Pick<FileShape, 'si' | 'ueb' | 'layout'>;

export class ShareReader {
  private readonly verifier: ShareVerifier;
  private readonly nodes = new NodeCache();
  private rootVerified = false;
  /** The block-tree root, once its share hash chain led to the UEB's share root. */
  private blockRoot: Buffer | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** Set when the share proved bad (corrupt or gone): never used again for this file. */
  bad: string | undefined;
  /** Set when the share's copy of the crypttext tree proved wrong (its blocks may still be fine). */
  crypttextBad: string | undefined;
  /** After a transient failure the share rests until this time. */
  restUntil = 0;

  constructor(
    readonly file: ReaderFile,
    readonly shnum: number,
    readonly server: GridServer,
    private readonly io: GridIo,
  ) {
    this.verifier = new ShareVerifier(file.ueb, file.layout, shnum);
  }

  get primary(): boolean {
    return this.shnum < this.file.ueb.k;
  }

  usable(now: number): boolean {
    return this.bad === undefined && this.restUntil <= now;
  }

  /** Raw bytes of this share (no verification): for the UEB, headers and crypttext nodes. */
  read(start: number, end: number, signal: AbortSignal | undefined): Promise<Uint8Array> {
    return readExact({ ...this.io, signal }, this, this.file.si, start, end);
  }

  /**
   * Block `segment`, verified. `windowLast` is the last segment the caller
   * expects to need soon: when proof nodes must be fetched anyway, those for the
   * following segments up to it (at most PROOF_WINDOW) come in the same requests.
   * The block is read concurrently with its proof; with `runs`, as part of
   * a read-ahead run of this share's next blocks.
   */
  async block(segment: number, windowLast: number, signal: AbortSignal | undefined, runs?: BlockRuns): Promise<Uint8Array> {
    const br = blockRange(this.file.layout, segment);
    const [framed, uncles] = await Promise.all([
      runs ? runs.framed(this, segment, windowLast) : readFramed({ ...this.io, signal }, this, this.file.si, br.offset, br.offset + br.length, TAGS.block),
      this.serial(() => this.ensureProof(segment, windowLast, signal)),
    ]);
    // Hashed here rather than in the thread pool, which would copy the block first (see segment-fetcher.ts).
    const leaf = createHash('sha256').update(framed).digest();
    if (!rootFromProof(this.file.layout.geometry.numSegments, segment, leaf, uncles).equals(this.blockRoot!)) {
      // A bad node would fail every later block too: drop them (the share is about to be dropped anyway).
      this.nodes.clear();
      throw new IntegrityError(`share ${this.shnum}: block ${segment} fails its hash`, { shnum: this.shnum, segment });
    }
    return framed.subarray(frameLength(TAGS.block));
  }

  /** Root, share chain (first time) and the uncles of `segment` onwards, unless already here; returns the uncles of `segment`. */
  private async ensureProof(segment: number, windowLast: number, signal: AbortSignal | undefined): Promise<Buffer[]> {
    const l = this.file.layout;
    const numSegments = l.geometry.numSegments;
    const wants: Want[] = [];
    let root: Uint8Array | undefined;
    let chain: Uint8Array = new Uint8Array(0);
    if (!this.rootVerified) {
      wants.push({ start: l.blockTreeOffset, end: l.blockTreeOffset + HASH_BYTES, take: (b) => (root = b) });
      if (l.shareChainLength > 0) {
        wants.push({ start: l.shareChainOffset, end: l.shareChainOffset + l.shareChainLength * HASH_BYTES, take: (b) => (chain = b) });
      }
    }
    if (this.nodes.missing(uncleIndices(numSegments, segment)).length > 0) {
      this.nodes.reserve(WINDOW_NODES);
      const last = Math.min(numSegments - 1, Math.max(segment, windowLast), segment + PROOF_WINDOW - 1);
      wants.push(...nodeWants(l.blockTreeOffset, this.nodes.missing(unclesOfLeaves(numSegments, segment, last)), this.nodes));
    }
    if (wants.length > 0) await fetchWants(wants, (start, end) => this.read(start, end, signal));
    if (root) {
      this.verifier.acceptBlockTreeRoot(root, hashesAt(chain, l.shareChainLength));
      this.blockRoot = Buffer.from(root);
      this.rootVerified = true;
    }
    // Picked here, inside the queue: a later fetch may evict nodes from the bounded cache.
    return this.nodes.pick(uncleIndices(numSegments, segment));
  }

  /** Runs proof fetches one at a time, so that concurrent block reads do not fetch the same nodes twice. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Marks the share after a failed read; returns what kind of failure it was. */
  fail(err: unknown, now: number, restMs: number): ShareFailure {
    const kind = classifyShareFailure(err);
    if (kind === 'corrupt' || kind === 'missing') this.bad = err instanceof Error ? err.message : String(err);
    else if (kind === 'transient') this.restUntil = now + restMs;
    return kind;
  }
}

export function notEnoughShares(found: number, k: number, detail: string): FerryError {
  return new FerryError('NOT_ENOUGH_SHARES', `found ${found} good share${found === 1 ? '' : 's'} of the ${k} needed${detail ? `: ${detail}` : ''}`, {
    details: { found, needed: k },
  });
}
