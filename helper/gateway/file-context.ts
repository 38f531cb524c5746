/**
 * Everything the gateway knows about one file (one verify-cap): where its
 * shares are, its UEB (checked against the capability's hash), a reader per
 * share and the crypttext proofs. Built once per file and cached briefly by
 * the Gateway, so consecutive range requests skip the lookups. It holds no
 * key: decryption happens per request.
 */
import type { VerifyCap } from '../../core/capability.js';
import { ErasureCodec } from '../../core/erasure/index.js';
import { FerryError } from '../../core/errors.js';
import type { ShareLayout } from '../../core/share-layout.js';
import { formatStorageIndex } from '../../core/storage-index.js';
import type { Ueb } from '../../core/ueb.js';
import { publish } from '../diagnostics.js';
import { messageOf, type ShareCopy } from '../grid/grid.js';
import { reportCorruption, type GridIo } from '../grid/io.js';
import { findFileShape, WrongCapabilityError, type FileShape, type UebFailure } from '../grid/open-file.js';
import { CrypttextProofs } from './crypttext-proofs.js';
import type { ShareLocator } from './share-locator.js';
import { classifyShareFailure, type ShareFailure } from '../grid/share-failure.js';
import { notEnoughShares, ShareReader } from './share-reader.js';

export interface FileContextDeps {
  io: GridIo;
  locator: ShareLocator;
  /** Maximum segment sizes to guess the layout with, saving the header round trip when one is right. */
  segmentSizeHints: readonly number[];
  /** How long a share that failed transiently is left alone. */
  restMs: number;
  log?: (msg: string) => void;
}

/**
 * An unused share replaces one in use when it answers OUTPACE_FACTOR times
 * faster and OUTPACE_MS more. The margin is wide because the comparison is
 * lopsided: shares in use are timed while their servers stream runs of
 * blocks, unused ones when they were last asked, idle. With 2x + 20 ms, a
 * first GET on a busy machine still hopped between shares (18 runs aborted,
 * 155 proof reads for 256 MiB; 1100 storage requests per GiB).
 */
const OUTPACE_FACTOR = 4;
const OUTPACE_MS = 100;
/**
 * A secondary share must answer this much sooner than a primary to be
 * preferred: it costs decoding on every segment (about 1 ms of CPU per MiB
 * here), while a server a little slower to answer costs nothing once its
 * run of blocks streams.
 */
const SECONDARY_PENALTY_MS = 25;

export class FileContext implements FileShape {
  readonly codec: ErasureCodec;
  readonly crypttext: CrypttextProofs;
  /** The k shares segments are currently read from (kept while they work, so their proofs stay warm). */
  active: ShareReader[] = [];

  private constructor(
    readonly cap: VerifyCap,
    readonly si: string,
    readonly ueb: Ueb,
    readonly uebBytes: Buffer,
    readonly layout: ShareLayout,
    readonly readers: ShareReader[],
    private readonly deps: FileContextDeps,
  ) {
    this.codec = new ErasureCodec(ueb.k, ueb.n);
    this.crypttext = new CrypttextProofs(ueb, layout, {
      candidates: () => this.ranked().filter((r) => r.crypttextBad === undefined),
      failed: (r, err) => this.crypttextFailed(r, err),
    });
  }

  /** Locates the shares and reads the UEB. Throws NOT_FOUND, NOT_ENOUGH_SHARES, UNAVAILABLE or INVALID_CAPABILITY. */
  static async open(cap: VerifyCap, deps: FileContextDeps): Promise<FileContext> {
    const si = formatStorageIndex(cap.storageIndex);
    const located = await deps.locator.locate(si);
    if (located.shares.length === 0) {
      if (located.asked === 0) throw new FerryError('UNAVAILABLE', 'the gateway has no storage servers');
      if (located.failed.length === located.asked) throw new FerryError('UNAVAILABLE', `none of the ${located.asked} storage servers answered`);
      const silent = located.failed.length ? ` (${located.failed.length} did not answer)` : '';
      // The storage index comes from the cap's key: a mistyped or altered cap looks for a file that is not there.
      throw new FerryError(
        'NOT_FOUND',
        `no shares of this file on the ${located.asked - located.failed.length} storage servers that answered${silent}: the capability may not match the stored file (check it was copied whole), or the file was never stored on this grid`,
      );
    }
    const where = `${located.shares.length} share${located.shares.length === 1 ? '' : 's'} on ${located.asked - located.failed.length} of ${located.asked} servers`;
    // The UEB first: a cap whose k disagrees with it is INVALID_CAPABILITY, whatever the share count.
    const { ueb, uebBytes, layout } = await readUeb(cap, si, located.shares, deps, where);
    if (located.distinct < ueb.k) {
      deps.locator.invalidate(si);
      throw notEnoughShares(located.distinct, ueb.k, where);
    }
    // A share whose UEB copy or header is damaged may still have good blocks: every block is checked anyway.
    const readers = located.shares.map((s) => new ShareReader({ si, ueb, layout }, s.shnum, s.server, deps.io));
    return new FileContext(cap, si, ueb, uebBytes, layout, readers, deps);
  }

  /** How the file's storage calls run (timeouts, latencies, gauges). */
  get io(): GridIo {
    return this.deps.io;
  }

  /** Usable readers, fastest server first; primary shares (no decoding work) win ties within SECONDARY_PENALTY_MS. */
  ranked(exclude?: ReadonlySet<ShareReader>): ShareReader[] {
    const now = Date.now();
    return this.readers.filter((r) => r.usable(now) && !exclude?.has(r)).sort((a, b) => this.score(a) - this.score(b));
  }

  /**
   * Of `current`, those to keep: not far slower (OUTPACE_FACTOR times the answer
   * time and OUTPACE_MS more) than an unused share, and, if secondary, not about as
   * slow as an unused primary (which needs no decoding). Answer times on a
   * busy machine jitter by tens of milliseconds: swapping shares on every
   * small difference threw away their read-ahead runs (2.5x the storage
   * requests), and secondaries chosen by chance stayed, decoding every segment.
   */
  notOutpaced(current: readonly ShareReader[]): ShareReader[] {
    const inUse = new Set(current.map((r) => r.shnum));
    const unused = this.ranked().filter((r) => !inUse.has(r.shnum));
    const fastest = Math.min(...unused.map((r) => this.latencyOf(r)));
    const primary = unused.find((r) => r.primary);
    const outpaced = (ms: number, by: number) => ms > OUTPACE_FACTOR * by + OUTPACE_MS;
    return current.filter((r) => !outpaced(this.latencyOf(r), fastest) && (r.primary || !primary || outpaced(this.latencyOf(primary), this.latencyOf(r))));
  }

  private latencyOf(r: ShareReader): number {
    return this.deps.io.latency?.estimate(r.server.id) ?? 0;
  }

  private score(r: ShareReader): number {
    return this.latencyOf(r) + (r.primary ? 0 : SECONDARY_PENALTY_MS);
  }

  /** Distinct share numbers that still have a usable reader (not bad, not resting after a failure). */
  goodShares(): number {
    const now = Date.now();
    return new Set(this.readers.filter((r) => r.usable(now)).map((r) => r.shnum)).size;
  }

  /** Records a failed read: marks the reader, reports a corrupt share to its server. */
  failed(reader: ShareReader, err: unknown): ShareFailure {
    const known = reader.bad !== undefined;
    const kind = reader.fail(err, Date.now(), this.deps.restMs);
    if (kind === 'aborted' || known) return kind;
    publish('ferry:gateway:share-failure', this.deps.io.source ?? this, () => ({ server: reader.server.id, shnum: reader.shnum, kind }));
    const reason = messageOf(err);
    this.deps.log?.(`share ${reader.shnum} of ${this.si} on ${reader.server.url}: ${kind}: ${reason}`);
    if (kind === 'corrupt') void reportCorruption(this.deps.io, reader, this.si, `ferry gateway: ${reason}`);
    if (kind === 'missing') this.deps.locator.invalidate(this.si);
    return kind;
  }

  /** A share's crypttext nodes were wrong (reported; its blocks stay in use) or it failed to answer. */
  private crypttextFailed(reader: ShareReader, err: unknown): void {
    if (classifyShareFailure(err) !== 'corrupt') {
      this.failed(reader, err);
      return;
    }
    if (reader.crypttextBad !== undefined) return;
    const reason = messageOf(err);
    reader.crypttextBad = reason;
    publish('ferry:gateway:share-failure', this.deps.io.source ?? this, () => ({ server: reader.server.id, shnum: reader.shnum, kind: 'corrupt' }));
    this.deps.log?.(`share ${reader.shnum} of ${this.si} on ${reader.server.url}: corrupt crypttext tree: ${reason}`);
    void reportCorruption(this.deps.io, reader, this.si, `ferry gateway: ${reason}`);
  }

  /** Set once a segment could not be read: the next request builds a fresh context (shares may have moved or come back). */
  exhausted = false;

  notEnough(detail: string): FerryError {
    this.exhausted = true;
    this.deps.locator.invalidate(this.si);
    return notEnoughShares(this.goodShares(), this.ueb.k, detail);
  }
}

/**
 * The UEB from the first share that has one matching the capability, trying
 * two shares at a time (fastest servers first); each try reads the header
 * and, in parallel, the UEB where the hinted layouts put it. A UEB that does
 * not match is only blamed on its share (reported as corruption) once another
 * share proved the capability right: otherwise a mistyped capability would
 * get every share of the file reported.
 */
async function readUeb(cap: VerifyCap, si: string, shares: readonly ShareCopy[], deps: FileContextDeps, where: string): Promise<FileShape> {
  const { io } = deps;
  const ordered = [...shares].sort((a, b) => (io.latency?.estimate(a.server.id) ?? 0) - (io.latency?.estimate(b.server.id) ?? 0));
  const found = await findFileShape(io, cap, si, ordered, { parallel: 2, segmentSizeHints: deps.segmentSizeHints });
  const reported = new Set<UebFailure>();
  const report = (failures: UebFailure[]) => {
    for (const f of failures) {
      if (f.kind !== 'corrupt' || (!found.file && f.otherUeb) || reported.has(f)) continue;
      reported.add(f);
      void reportCorruption(io, f.copy, si, `ferry gateway: ${f.reason}`);
    }
  };
  report(found.failures);
  if (found.file) {
    void found.settled.then(report); // the other copy of the last batch may answer after the file was found
    return found.file;
  }
  if (found.wrongCapability) throw new WrongCapabilityError(where);
  throw notEnoughShares(0, cap.k, `no share found could be read as this file: the capability may not match the stored file, or the copies that do are damaged or unreachable (${where})`);
}
