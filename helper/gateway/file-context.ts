/**
 * Everything the gateway knows about one file (one verify-cap): where its
 * shares are, its UEB (checked against the capability's hash), a reader per
 * share and the crypttext proofs. Built once per file and cached briefly by
 * the Gateway, so consecutive range requests skip the lookups. It holds no
 * key: decryption happens per request.
 */
import type { VerifyCap } from '../../core/capability.js';
import { ErasureCodec } from '../../core/erasure/index.js';
import { FerryError, FormatError, IntegrityError } from '../../core/errors.js';
import { decodeShareHeader, layoutFor, SHARE_HEADER_BYTES, type ShareLayout } from '../../core/share-layout.js';
import { verifyUeb } from '../../core/share-verify.js';
import { formatStorageIndex } from '../../core/storage-index.js';
import { UEB_BYTES, uebHash, type Ueb } from '../../core/ueb.js';
import { CrypttextProofs } from './crypttext-proofs.js';
import type { ShareLocation, ShareLocator } from './share-locator.js';
import { classifyFailure, notEnoughShares, ShareReader, type FailureKind, type FileShape } from './share-reader.js';
import { readShareRange, reportCorruption, type IoOptions } from './storage-io.js';

export interface FileContextDeps {
  io: IoOptions;
  locator: ShareLocator;
  /** Maximum segment sizes to guess the layout with, saving the header round trip when one is right. */
  segmentSizeHints: readonly number[];
  /** How long a share that failed transiently is left alone. */
  restMs: number;
  log?: (msg: string) => void;
}

type UebResult = { ueb: Ueb; layout: ShareLayout };

export class FileContext implements FileShape {
  readonly codec: ErasureCodec;
  readonly crypttext: CrypttextProofs;
  /** The k shares segments are currently read from (kept while they work, so their proofs stay warm). */
  active: ShareReader[] = [];

  private constructor(
    readonly cap: VerifyCap,
    readonly si: string,
    readonly ueb: Ueb,
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
      throw new FerryError('NOT_FOUND', `no shares of this file on the ${located.asked - located.failed.length} storage servers that answered${silent}`);
    }
    const where = `${located.shares.length} share${located.shares.length === 1 ? '' : 's'} on ${located.asked - located.failed.length} of ${located.asked} servers`;
    // The UEB first: a cap whose k disagrees with it is INVALID_CAPABILITY, whatever the share count.
    const { ueb, layout } = await readUeb(cap, si, located.shares, deps, where);
    if (located.distinct < ueb.k) {
      deps.locator.invalidate(si);
      throw notEnoughShares(located.distinct, ueb.k, where);
    }
    // A share whose UEB copy or header is damaged may still have good blocks: every block is checked anyway.
    const readers = located.shares.map((s) => new ShareReader({ si, ueb, layout }, s.shnum, s.server, deps.io));
    return new FileContext(cap, si, ueb, layout, readers, deps);
  }

  /** Usable readers, fastest server first; primary shares (no decoding work) win near-ties. */
  ranked(exclude?: ReadonlySet<ShareReader>): ShareReader[] {
    const now = Date.now();
    const score = (r: ShareReader) => this.deps.io.latency.estimate(r.server.id) + (r.primary ? 0 : 2);
    return this.readers.filter((r) => r.usable(now) && !exclude?.has(r)).sort((a, b) => score(a) - score(b));
  }

  /** Distinct share numbers that still have a usable reader (not bad, not resting after a failure). */
  goodShares(): number {
    const now = Date.now();
    return new Set(this.readers.filter((r) => r.usable(now)).map((r) => r.shnum)).size;
  }

  /** Records a failed read: marks the reader, reports a corrupt share to its server. */
  failed(reader: ShareReader, err: unknown): FailureKind {
    const known = reader.bad !== undefined;
    const kind = reader.fail(err, Date.now(), this.deps.restMs);
    if (kind === 'aborted' || known) return kind;
    this.deps.io.stats.shareFailures++;
    const reason = err instanceof Error ? err.message : String(err);
    this.deps.log?.(`share ${reader.shnum} of ${this.si} on ${reader.server.url}: ${kind}: ${reason}`);
    if (kind === 'corrupt') reportCorruption(this.deps.io, reader.server, this.si, reader.shnum, `ferry gateway: ${reason}`, this.deps.log);
    if (kind === 'missing') this.deps.locator.invalidate(this.si);
    return kind;
  }

  /** A share's crypttext nodes were wrong (reported; its blocks stay in use) or it failed to answer. */
  private crypttextFailed(reader: ShareReader, err: unknown): void {
    if (classifyFailure(err) !== 'corrupt') {
      this.failed(reader, err);
      return;
    }
    if (reader.crypttextBad !== undefined) return;
    const reason = err instanceof Error ? err.message : String(err);
    reader.crypttextBad = reason;
    this.deps.io.stats.shareFailures++;
    this.deps.log?.(`share ${reader.shnum} of ${this.si} on ${reader.server.url}: corrupt crypttext tree: ${reason}`);
    reportCorruption(this.deps.io, reader.server, this.si, reader.shnum, `ferry gateway: ${reason}`, this.deps.log);
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
 * two shares at a time (fastest servers first). Each try reads the header and,
 * in parallel, the UEB where the guessed layouts put it.
 * A UEB that does not match is only blamed on its share (reported as
 * corruption) once another share proved the capability right: otherwise a
 * mistyped capability would get every share of the file reported.
 */
async function readUeb(cap: VerifyCap, si: string, shares: ShareLocation[], deps: FileContextDeps, where: string): Promise<UebResult> {
  const { io } = deps;
  const ordered = [...shares].sort((a, b) => io.latency.estimate(a.server.id) - io.latency.estimate(b.server.id));
  const mismatched: ShareLocation[] = [];
  let transient = 0;
  const attempt = async (loc: ShareLocation): Promise<UebResult> => {
    const read = (start: number, end: number) => readShareRange(io, loc.server, si, loc.shnum, start, end, undefined);
    const guesses = new Map<number, ShareLayout>();
    for (const hint of deps.segmentSizeHints) {
      const l = layoutFor(cap.size, cap.k, cap.n, hint);
      guesses.set(l.uebOffset, l);
    }
    const header = read(0, SHARE_HEADER_BYTES);
    header.catch(() => undefined);
    const guessed = await Promise.all(
      [...guesses.values()].map((l) =>
        read(l.uebOffset, l.end).then(
          (b) => tryVerify(b, cap),
          () => undefined,
        ),
      ),
    );
    const hit = guessed.find((g) => g !== undefined);
    if (hit) return hit;
    // Where the header puts the UEB, not where the cap's k, n and size would: a cap that
    // disagrees with its file must still find the UEB, to be told INVALID_CAPABILITY.
    const [, , , , uebOffset, end] = decodeShareHeader(await header).offsets;
    if (end - uebOffset !== UEB_BYTES) throw new FormatError('CORRUPT_SHARE', `share ${loc.shnum}: header places a UEB of ${end - uebOffset} bytes`);
    const bytes = await read(uebOffset, end);
    if (!uebHash(bytes).equals(cap.uebHash)) throw new UebMismatch(loc.shnum);
    return verifyUeb(bytes, cap.uebHash);
  };
  for (let b = 0; b < ordered.length; b += 2) {
    const batch = ordered.slice(b, b + 2);
    try {
      const found = await Promise.any(
        batch.map((loc) =>
          attempt(loc).catch((err: unknown) => {
            const kind = classifyFailure(err);
            if (kind === 'corrupt') {
              if (err instanceof UebMismatch) mismatched.push(loc);
              else reportCorruption(io, loc.server, si, loc.shnum, `ferry gateway: ${err instanceof Error ? err.message : String(err)}`, deps.log);
            } else {
              transient++;
            }
            throw err;
          }),
        ),
      );
      checkAgainstCap(found.ueb, cap);
      for (const loc of mismatched) reportCorruption(io, loc.server, si, loc.shnum, 'ferry gateway: UEB does not match the capability', deps.log);
      return found;
    } catch (err) {
      if (err instanceof FerryError && err.code === 'INVALID_CAPABILITY') throw err;
    }
  }
  if (transient === 0 && mismatched.length > 0) {
    throw new FerryError('NOT_FOUND', `the shares found for this storage index do not match the capability (${where})`);
  }
  throw notEnoughShares(0, cap.k, `no share yielded the file's UEB (${where})`);
}

function tryVerify(bytes: Uint8Array, cap: VerifyCap): UebResult | undefined {
  try {
    return verifyUeb(bytes, cap.uebHash);
  } catch {
    return undefined;
  }
}

class UebMismatch extends IntegrityError {
  constructor(shnum: number) {
    super(`share ${shnum}: UEB does not match the capability`, { shnum });
  }
}

/** The capability repeats k, n and size; a capability that disagrees with its own UEB is malformed. */
function checkAgainstCap(ueb: Ueb, cap: VerifyCap): void {
  if (ueb.k !== cap.k || ueb.n !== cap.n || ueb.size !== cap.size) {
    throw new FerryError('INVALID_CAPABILITY', `capability says k=${cap.k} n=${cap.n} size=${cap.size} but the file has k=${ueb.k} n=${ueb.n} size=${ueb.size}`);
  }
}
