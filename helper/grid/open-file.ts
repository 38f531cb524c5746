/**
 * Finding a file's UEB from a verify-cap: the first copy whose UEB hashes to
 * the capability's gives the file's parameters and layout. What went wrong
 * with the other copies is kept, typed, so callers tell a damaged copy from a
 * copy of another file (the wrong capability) without reading messages.
 */
import type { VerifyCap } from '../../core/capability.js';
import { FerryError, IntegrityError } from '../../core/errors.js';
import { decodeShareHeader, layoutFor, SHARE_HEADER_BYTES, type ShareLayout } from '../../core/share-layout.js';
import { verifyUeb } from '../../core/share-verify.js';
import { UEB_BYTES, type Ueb } from '../../core/ueb.js';
import { messageOf, type ShareCopy } from './grid.js';
import { readExact, type GridIo } from './io.js';
import { classifyShareFailure, type ShareFailure } from './share-failure.js';

/** What every share of the file must agree with, learnt from a UEB that hashes to the cap's. */
export interface FileShape {
  si: string;
  cap: VerifyCap;
  ueb: Ueb;
  uebBytes: Buffer;
  layout: ShareLayout;
}

/** A copy's UEB is not the one the capability names: a damaged copy, or a copy of another file. */
export class UebMismatchError extends IntegrityError {
  constructor(readonly shnum: number) {
    super(`share ${shnum}: UEB does not match the capability`, { shnum });
    this.name = 'UebMismatchError';
  }
}

/** Every UEB found differs from the capability's and every copy answered: probably the wrong capability. */
export class WrongCapabilityError extends FerryError {
  constructor(where: string) {
    super('NOT_FOUND', `the shares found for this storage index do not match the capability (${where})`);
    this.name = 'WrongCapabilityError';
  }
}

/** The cap's k, n or size differ from the UEB it names: the capability is wrong, not the share. */
export class CapabilityMismatch extends FerryError {
  constructor(cap: VerifyCap, ueb: Ueb) {
    super('INVALID_CAPABILITY', `the capability says k=${cap.k} n=${cap.n} size=${cap.size} but the file it names has k=${ueb.k} n=${ueb.n} size=${ueb.size}`);
    this.name = 'CapabilityMismatch';
  }
}

export interface UebFailure {
  copy: ShareCopy;
  kind: Exclude<ShareFailure, 'aborted'>;
  reason: string;
  /** The copy holds a well-formed UEB of another file. */
  otherUeb: boolean;
}

/** The file's shape from UEB bytes; IntegrityError when they are not the UEB the capability names. */
function shapeOf(cap: VerifyCap, si: string, bytes: Uint8Array): FileShape {
  const { ueb, layout } = verifyUeb(bytes, cap.uebHash);
  if (ueb.k !== cap.k || ueb.n !== cap.n || ueb.size !== cap.size) throw new CapabilityMismatch(cap, ueb);
  return { si, cap, ueb, uebBytes: Buffer.from(bytes), layout };
}

/**
 * The header and UEB of one copy, checked against the capability. With
 * `segmentSizeHints`, the UEB is also read where those layouts put it, in
 * parallel with the header: one round trip when a guess is right.
 */
export async function readFileShape(io: GridIo, cap: VerifyCap, si: string, c: ShareCopy, segmentSizeHints: readonly number[] = []): Promise<FileShape> {
  const header = readExact(io, c, si, 0, SHARE_HEADER_BYTES);
  header.catch(() => undefined); // observed below unless a guess wins
  const guesses = new Map<number, ShareLayout>();
  for (const hint of segmentSizeHints) {
    try {
      const l = layoutFor(cap.size, cap.k, cap.n, hint);
      guesses.set(l.uebOffset, l);
    } catch {
      /* a capability with impossible parameters: no guess, the header still leads to the UEB */
    }
  }
  const guessed = await Promise.all(
    [...guesses.values()].map((l) =>
      readExact(io, c, si, l.uebOffset, l.end).then(
        (bytes) => {
          try {
            return shapeOf(cap, si, bytes);
          } catch (err) {
            if (err instanceof CapabilityMismatch) throw err;
            return undefined;
          }
        },
        () => undefined,
      ),
    ),
  );
  const hit = guessed.find((g) => g !== undefined);
  if (hit) return hit;
  // Where the header puts the UEB, not where the cap's k, n and size would: a cap that
  // disagrees with its file must still find the UEB, to be told INVALID_CAPABILITY.
  const [, , , , uebOffset, end] = decodeShareHeader(await header).offsets;
  if (end - uebOffset !== UEB_BYTES) throw new FerryError('CORRUPT_SHARE', `share ${c.shnum}: header places a UEB of ${end - uebOffset} bytes`);
  const bytes = await readExact(io, c, si, uebOffset, end);
  try {
    return shapeOf(cap, si, bytes);
  } catch (err) {
    if (err instanceof IntegrityError) throw new UebMismatchError(c.shnum);
    throw err;
  }
}

export interface UebSearch {
  file: FileShape | undefined;
  /** Copies that failed to give the UEB, with why. */
  failures: UebFailure[];
  /** No file found, every copy answered and at least one holds another file's UEB. */
  wrongCapability: boolean;
  /**
   * Every failure, once the copies still being tried when the file was found
   * have answered too (not awaited by the search: a slow server must not delay it).
   */
  settled: Promise<UebFailure[]>;
}

/**
 * The file's shape from the first copy that gives it, trying `parallel`
 * copies at a time in the order given. A CapabilityMismatch (the UEB hashes
 * right but disagrees with the cap's k, n or size) is thrown: no copy can fix it.
 */
export async function findFileShape(
  io: GridIo,
  cap: VerifyCap,
  si: string,
  copies: readonly ShareCopy[],
  o: { parallel?: number; segmentSizeHints?: readonly number[] } = {},
): Promise<UebSearch> {
  const failures: UebFailure[] = [];
  const parallel = Math.max(1, o.parallel ?? 1);
  const started: Promise<unknown>[] = [];
  const settled = () => Promise.allSettled(started).then(() => failures);
  const attempt = (c: ShareCopy) => {
    const p = readFileShape(io, cap, si, c, o.segmentSizeHints).catch((err: unknown) => {
      const kind = classifyShareFailure(err);
      if (kind === 'aborted' || err instanceof CapabilityMismatch) throw err;
      failures.push({ copy: c, kind, reason: messageOf(err), otherUeb: err instanceof UebMismatchError });
      return undefined;
    });
    started.push(p);
    return p;
  };
  for (let b = 0; b < copies.length; b += parallel) {
    const batch = copies.slice(b, b + parallel).map(attempt);
    // The first copy of the batch that gives the shape wins; the others' failures are still recorded.
    const file = await new Promise<FileShape | undefined>((resolve, reject) => {
      let left = batch.length;
      for (const p of batch) {
        p.then((f) => {
          if (f) resolve(f);
          else if (--left === 0) resolve(undefined);
        }, reject);
      }
    });
    if (file) return { file, failures: [...failures], wrongCapability: false, settled: settled() };
  }
  const wrongCapability = failures.some((f) => f.otherUeb) && failures.every((f) => f.kind === 'corrupt');
  return { file: undefined, failures, wrongCapability, settled: settled() };
}
