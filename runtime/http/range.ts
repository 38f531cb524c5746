/**
 * Strict parsing of HTTP byte ranges (RFC 9110 §14): the `Range` request
 * header (a list of specs; callers decide how many they accept) and the
 * `Content-Range` header (as sent on a partial write or in a 206 response).
 *
 * Conventions: a resolved {@link ByteRange} is half-open, `[start, end)`;
 * the header forms are inclusive (`bytes=0-15` is `{ start: 0, end: 16 }`).
 * Syntax errors throw FerryError INVALID_RANGE; nothing is silently ignored.
 */
import { FerryError } from '../../core/errors.js';

/** One `range-spec` of a `Range` header, before it is applied to a size. */
export type RangeSpec =
  /** `first-last` or, with `last` undefined, the open-ended `first-`. */
  | { kind: 'int'; first: number; last: number | undefined }
  /** `-length`: the last `length` bytes. */
  | { kind: 'suffix'; length: number };

/** A concrete byte range, half-open. */
export interface ByteRange {
  start: number;
  end: number;
}

/** A parsed `Content-Range: bytes first-last/total` (total undefined for `*`), half-open. */
export interface ContentRange extends ByteRange {
  total: number | undefined;
}

export interface ParseRangeOptions {
  /** Refuse headers with more specs than this (default 100); a guard against abuse. */
  maxRanges?: number;
}

// At most 15 digits keeps every value a safe integer (< 2^53).
const POS = '(\\d{1,15})';
const INT_SPEC = new RegExp(`^${POS}-${POS}?$`);
const SUFFIX_SPEC = new RegExp(`^-${POS}$`);
const CONTENT_RANGE = new RegExp(`^bytes ${POS}-${POS}/(?:${POS}|\\*)$`, 'i');

function invalid(message: string): FerryError {
  return new FerryError('INVALID_RANGE', message);
}

/** Parses a `Range` header value such as `bytes=0-99`, `bytes=100-`, `bytes=-50`, `bytes=0-9, 20-29`. */
export function parseRangeHeader(value: string, options: ParseRangeOptions = {}): RangeSpec[] {
  const maxRanges = options.maxRanges ?? 100;
  const eq = value.indexOf('=');
  if (eq < 0) throw invalid(`Range header must look like "bytes=first-last", got ${JSON.stringify(truncate(value))}`);
  const unit = value.slice(0, eq);
  if (unit.toLowerCase() !== 'bytes') throw invalid(`unsupported range unit ${JSON.stringify(truncate(unit))} (only "bytes")`);
  const parts = value.slice(eq + 1).split(',');
  if (parts.length > maxRanges) throw invalid(`too many ranges (${parts.length} > ${maxRanges})`);
  const specs: RangeSpec[] = [];
  for (const raw of parts) {
    // RFC 9110 list syntax: optional whitespace around the commas.
    const part = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    let m = INT_SPEC.exec(part);
    if (m) {
      const first = Number(m[1]);
      const last = m[2] === undefined ? undefined : Number(m[2]);
      if (last !== undefined && last < first) throw invalid(`invalid range ${JSON.stringify(part)}: last byte before first`);
      specs.push({ kind: 'int', first, last });
      continue;
    }
    m = SUFFIX_SPEC.exec(part);
    if (m) {
      specs.push({ kind: 'suffix', length: Number(m[1]) });
      continue;
    }
    throw invalid(`invalid range ${JSON.stringify(truncate(part))} in Range header`);
  }
  return specs;
}

/** Applies one spec to a representation of `size` bytes; undefined when unsatisfiable. */
export function resolveRange(spec: RangeSpec, size: number): ByteRange | undefined {
  if (spec.kind === 'suffix') {
    if (spec.length === 0 || size === 0) return undefined;
    return { start: Math.max(0, size - spec.length), end: size };
  }
  if (spec.first >= size) return undefined;
  const last = spec.last === undefined ? size - 1 : Math.min(spec.last, size - 1);
  return { start: spec.first, end: last + 1 };
}

/**
 * Applies every spec and keeps the satisfiable ones, in order. Throws
 * RANGE_NOT_SATISFIABLE (with `details.size`) when none is.
 */
export function resolveRanges(specs: readonly RangeSpec[], size: number): ByteRange[] {
  const out: ByteRange[] = [];
  for (const spec of specs) {
    const r = resolveRange(spec, size);
    if (r) out.push(r);
  }
  if (out.length === 0) {
    throw new FerryError('RANGE_NOT_SATISFIABLE', `requested range is outside the ${size}-byte representation`, { details: { size } });
  }
  return out;
}

/** Parses `Content-Range: bytes first-last/total` or `bytes first-last/*`. The unsatisfied form `bytes * /n` is refused. */
export function parseContentRange(value: string): ContentRange {
  const m = CONTENT_RANGE.exec(value.trim());
  if (!m) throw invalid(`Content-Range must look like "bytes first-last/total" or "bytes first-last/*", got ${JSON.stringify(truncate(value))}`);
  const first = Number(m[1]);
  const last = Number(m[2]);
  const total = m[3] === undefined ? undefined : Number(m[3]);
  if (last < first) throw invalid(`invalid Content-Range ${JSON.stringify(truncate(value))}: last byte before first`);
  if (total !== undefined && last >= total) throw invalid(`invalid Content-Range ${JSON.stringify(truncate(value))}: last byte beyond the total length`);
  return { start: first, end: last + 1, total };
}

/** `bytes first-last/total` for a non-empty half-open range (`*` when the total is unknown). */
export function formatContentRange(range: ByteRange, total: number | undefined): string {
  if (range.end <= range.start) throw new RangeError('cannot format an empty range');
  return `bytes ${range.start}-${range.end - 1}/${total === undefined ? '*' : total}`;
}

/** `bytes * /size` (without the space), for 416 responses. */
export function formatUnsatisfiedContentRange(size: number): string {
  return `bytes */${size}`;
}

/** A `Range` header value for non-empty half-open ranges, e.g. `bytes=0-99,200-299`. */
export function formatRangeHeader(ranges: readonly ByteRange[]): string {
  if (ranges.length === 0) throw new RangeError('need at least one range');
  return `bytes=${ranges
    .map((r) => {
      if (r.end <= r.start) throw new RangeError('cannot format an empty range');
      return `${r.start}-${r.end - 1}`;
    })
    .join(',')}`;
}

function truncate(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}
