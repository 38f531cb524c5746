/**
 * Checks decoded segments against the UEB's crypttext root. The crypttext
 * tree is identical in every share, so its nodes come from one share (the
 * fastest usable one). If a segment fails with them, the same nodes are asked
 * of other shares until a set proves the segment; the shares whose copy
 * differed are then reported as corrupt and dropped.
 */
import { FerryError } from '../../core/errors.js';
import { rootFromProof, uncleIndices } from '../../core/merkle.js';
import type { Ueb } from '../../core/ueb.js';
import type { ShareLayout } from '../../core/share-layout.js';
import { classifyShareFailure } from '../grid/share-failure.js';
import type { ShareReader } from './share-reader.js';
import { fetchWants, NodeCache, nodeWants, PROOF_WINDOW, unclesOfLeaves, WINDOW_NODES } from './tree-nodes.js';

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

  /** Throws unless `leaf` (the crypttext hash of segment i, unpadded) leads to the crypttext root. */
  async verify(i: number, leaf: Buffer, windowLast: number, signal: AbortSignal | undefined): Promise<void> {
    const indices = uncleIndices(this.ueb.numSegments, i);
    const proves = (uncles: Buffer[]) => rootFromProof(this.ueb.numSegments, i, leaf, uncles).equals(this.ueb.crypttextRoot);
    const { source, cached } = await this.serial(async () => {
      const from = await this.ensure(i, windowLast, signal);
      return { source: from, cached: this.nodes.pick(indices) };
    });
    if (proves(cached)) return;
    await this.serial(() => this.recover(i, indices, source, cached, proves, signal));
  }

  /**
   * The cached nodes do not prove segment i. Ask other shares for the same
   * nodes until a set proves it: only then are the shares whose nodes differ
   * known to be corrupt (and reported). If two shares agree on nodes that do
   * not prove the segment, the shares are fine and the decoded segment is not:
   * the uploader's encoding is inconsistent, and nobody is blamed.
   */
  private async recover(
    i: number,
    indices: number[],
    source: ShareReader | undefined,
    cached: Buffer[],
    proves: (uncles: Buffer[]) => boolean,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    this.nodes.clear();
    this.source = undefined;
    const wrong: { reader: ShareReader | undefined; nodes: Buffer[] }[] = [{ reader: source, nodes: cached }];
    const tried = new Set<ShareReader>(source ? [source] : []);
    for (const r of this.hooks.candidates()) {
      if (tried.has(r)) continue;
      tried.add(r);
      const got = new NodeCache();
      try {
        await fetchWants(nodeWants(this.layout.crypttextTreeOffset, indices, got), (s, e) => r.read(s, e, signal));
      } catch (err) {
        if (classifyShareFailure(err) === 'aborted') throw err;
        this.hooks.failed(r, err);
        continue;
      }
      const nodes = got.pick(indices);
      if (proves(nodes)) {
        for (const w of wrong) {
          if (w.reader) this.hooks.failed(w.reader, new FerryError('CORRUPT_SHARE', `share ${w.reader.shnum}: crypttext hash tree differs from other shares' (segment ${i})`));
        }
        this.source = r;
        for (let j = 0; j < indices.length; j++) this.nodes.putRun(indices[j], nodes[j]);
        return;
      }
      if (wrong.some((w) => w.nodes.every((n, j) => n.equals(nodes[j])))) {
        // Permanent (no retry gets other bytes): a client must not take it for a passing upstream fault.
        throw new FerryError('INTEGRITY_ERROR', `segment ${i} decodes to ciphertext that fails the crypttext hash although shares agree on it: the file's shares are inconsistent`, {
          details: { segment: i },
        });
      }
      wrong.push({ reader: r, nodes });
    }
    throw new FerryError('NOT_ENOUGH_SHARES', `no share has a crypttext proof for segment ${i}`, { details: { segment: i } });
  }

  /** Fetches the uncles of segment i onwards unless present; returns the share they came from (undefined if cached). */
  private async ensure(i: number, windowLast: number, signal: AbortSignal | undefined): Promise<ShareReader | undefined> {
    const n = this.ueb.numSegments;
    if (this.nodes.missing(uncleIndices(n, i)).length === 0) return this.source;
    this.nodes.reserve(WINDOW_NODES);
    const last = Math.min(n - 1, Math.max(i, windowLast), i + PROOF_WINDOW - 1);
    const want = this.nodes.missing(unclesOfLeaves(n, i, last));
    for (let tries = 0; ; tries++) {
      const source = this.source?.usable(Date.now()) && this.source.crypttextBad === undefined ? this.source : this.hooks.candidates()[0];
      if (!source || tries >= 8) throw new FerryError('NOT_ENOUGH_SHARES', 'no share left to read the crypttext hash tree from');
      this.source = source;
      try {
        await fetchWants(nodeWants(this.layout.crypttextTreeOffset, want, this.nodes), (s, e) => source.read(s, e, signal));
        return source;
      } catch (err) {
        if (classifyShareFailure(err) === 'aborted') throw err;
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
