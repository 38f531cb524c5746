/**
 * Checks decoded segments against the UEB's crypttext root. The crypttext
 * tree is identical in every share, so its nodes come from one share (the
 * fastest usable one); if a segment fails with them, that share's copy is bad:
 * it is reported, dropped, and the nodes are fetched again from another.
 */
import { FerryError } from '../../core/errors.js';
import { rootFromProof, uncleIndices } from '../../core/merkle.js';
import { TAGS, taggedHasher } from '../../core/tagged-hash.js';
import type { Ueb } from '../../core/ueb.js';
import type { ShareLayout } from '../../core/share-layout.js';
import { classifyFailure, PROOF_WINDOW, type ShareReader } from './share-reader.js';
import { fetchWants, NodeCache, nodeWants, unclesOfLeaves } from './tree-nodes.js';

/** Sources tried for one segment before the segment itself is declared unverifiable. */
const MAX_SOURCES = 3;

export interface CrypttextHooks {
  /** Usable readers, best first. */
  candidates(): ShareReader[];
  /** A source share whose crypttext nodes proved wrong or that failed to answer. */
  failed(reader: ShareReader, err: unknown): void;
}

export class CrypttextProofs {
  private readonly nodes = new NodeCache();
  private source: ShareReader | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ueb: Ueb,
    private readonly layout: ShareLayout,
    private readonly hooks: CrypttextHooks,
  ) {}

  /** Starts fetching the nodes segment i will need (so that they arrive with its blocks). */
  prefetch(i: number, windowLast: number, signal: AbortSignal | undefined): void {
    this.serial(() => this.ensure(i, windowLast, signal)).catch(() => undefined);
  }

  /** Throws unless `pieces` (the unpadded ciphertext of segment i, in order) hash to the crypttext root. */
  async verify(i: number, pieces: readonly Uint8Array[], windowLast: number, signal: AbortSignal | undefined): Promise<void> {
    const h = taggedHasher(TAGS.crypttextSegment);
    for (const p of pieces) h.update(p);
    const leaf = h.digest();
    const indices = uncleIndices(this.ueb.numSegments, i);
    for (let attempt = 0; ; attempt++) {
      const source = await this.serial(() => this.ensure(i, windowLast, signal));
      const root = rootFromProof(this.ueb.numSegments, i, leaf, this.nodes.pick(indices));
      if (root.equals(this.ueb.crypttextRoot)) return;
      this.nodes.clear();
      if (source) {
        this.hooks.failed(source, new FerryError('CORRUPT_SHARE', `share ${source.shnum}: crypttext hash tree does not verify segment ${i}`));
        if (this.source === source) this.source = undefined;
      }
      if (attempt + 1 >= MAX_SOURCES) {
        // Every block verified, so the shares are what the uploader wrote; the uploader's encoding is inconsistent.
        throw new FerryError('UPSTREAM_ERROR', `segment ${i} decodes to ciphertext that fails the crypttext hash`, { details: { segment: i } });
      }
    }
  }

  /** Fetches the uncles of segment i onwards unless present; returns the share they came from (undefined if cached). */
  private async ensure(i: number, windowLast: number, signal: AbortSignal | undefined): Promise<ShareReader | undefined> {
    const n = this.ueb.numSegments;
    if (this.nodes.missing(uncleIndices(n, i)).length === 0) return this.source;
    const last = Math.min(n - 1, Math.max(i, windowLast), i + PROOF_WINDOW - 1);
    const want = this.nodes.missing(unclesOfLeaves(n, i, last));
    for (let tries = 0; ; tries++) {
      const source = this.source?.usable(Date.now()) ? this.source : this.hooks.candidates()[0];
      if (!source || tries >= 8) throw new FerryError('NOT_ENOUGH_SHARES', 'no share left to read the crypttext hash tree from');
      this.source = source;
      try {
        await fetchWants(nodeWants(this.layout.crypttextTreeOffset, want, this.nodes), (s, e) => source.read(s, e, signal));
        return source;
      } catch (err) {
        if (classifyFailure(err) === 'aborted') throw err;
        this.source = undefined;
        this.hooks.failed(source, err);
      }
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
