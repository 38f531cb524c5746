/**
 * One verified ciphertext segment from k shares: blocks are requested from k
 * shares at once (the fastest servers, kept from segment to segment while they
 * work), each checked against the share tree; a share that errs, times out or
 * fails its hash is replaced by the next best one (and a corrupt one is
 * reported to its server). The k blocks are decoded, the padding stripped and
 * the segment checked against the crypttext tree before anyone sees it.
 *
 * The segment is not copied into one buffer: it is hashed part by part and
 * handed on as the decoded blocks (primary blocks are the very buffers the
 * shares' bytes were read into). SHA-256 runs here, on the event loop: a
 * trip to the thread pool (WebCrypto) copies its input first, which costs
 * about as much as hashing it.
 */
import { FerryError } from '../../core/errors.js';
import { segmentRange } from '../../core/params.js';
import type { FileContext } from './file-context.js';
import { taggedHasher, TAGS } from '../../core/tagged-hash.js';
import type { BlockRuns } from './block-runs.js';
import type { ShareReader } from './share-reader.js';

export interface VerifiedSegment {
  index: number;
  /** File offset of the segment's first byte. */
  start: number;
  /** Bytes in the segment (padding removed). */
  length: number;
  /** The segment's ciphertext, verified, in order: `length` bytes in all. */
  parts: Uint8Array[];
}

/** Segments between two fresh choices of the k fastest shares. */
const RERANK_EVERY = 16;

type Outcome = { reader: ShareReader; block: Uint8Array } | { reader: ShareReader; error: unknown };

/**
 * Fetches, verifies and decodes segment `i`. `windowLast`: the last segment
 * the caller will ask for soon; `runs`: the caller's read-ahead of blocks.
 */
export async function fetchSegment(ctx: FileContext, i: number, windowLast: number, signal: AbortSignal | undefined, runs?: BlockRuns): Promise<VerifiedSegment> {
  const k = ctx.ueb.k;
  const { start, end } = segmentRange(ctx.layout.geometry, i);
  const crypttext = ctx.crypttext;

  const running = new Map<ShareReader, Promise<Outcome>>();
  const tried = new Set<ShareReader>();
  const busy = new Set<number>();
  const launch = (r: ShareReader) => {
    tried.add(r);
    busy.add(r.shnum);
    running.set(
      r,
      r.block(i, windowLast, signal, runs).then(
        (block) => ({ reader: r, block }),
        (error: unknown) => ({ reader: r, error }),
      ),
    );
  };
  const next = (): ShareReader | undefined => ctx.ranked(tried).find((r) => !busy.has(r.shnum));

  // Keep the current set while it works (its runs and proofs are warm); now and then, swap a share for one clearly faster.
  const now = Date.now();
  const keep = i % RERANK_EVERY === 0 ? ctx.notOutpaced(ctx.active) : ctx.active;
  for (const r of keep) if (running.size < k && r.usable(now) && !busy.has(r.shnum)) launch(r);
  while (running.size < k) {
    const r = next();
    if (!r) break;
    launch(r);
  }

  crypttext.prefetch(i, windowLast, signal);

  const got: { reader: ShareReader; block: Uint8Array }[] = [];
  while (got.length < k) {
    if (running.size === 0) {
      throw ctx.notEnough(`segment ${i}: every share was tried`);
    }
    const out = await Promise.race(running.values());
    running.delete(out.reader);
    if ('block' in out) {
      got.push(out);
      continue;
    }
    if (signal?.aborted) throw new FerryError('ABORTED', 'download aborted', { cause: signal.reason });
    const kind = ctx.failed(out.reader, out.error);
    if (kind === 'aborted') throw out.error;
    busy.delete(out.reader.shnum);
    const r = next();
    if (r) launch(r);
  }
  got.sort((a, b) => a.reader.shnum - b.reader.shnum);
  ctx.active = got.map((g) => g.reader);

  const primary = ctx.codec.decode(
    got.map((g) => g.block),
    got.map((g) => g.reader.shnum),
  );
  const length = end - start;
  const parts: Uint8Array[] = [];
  const hash = taggedHasher(TAGS.crypttextSegment);
  for (let left = length, j = 0; left > 0 && j < primary.length; j++) {
    const part = primary[j].length <= left ? primary[j] : primary[j].subarray(0, left);
    hash.update(part);
    parts.push(part);
    left -= part.length;
  }
  await crypttext.verify(i, hash.digest(), windowLast, signal);
  return { index: i, start, length, parts };
}
