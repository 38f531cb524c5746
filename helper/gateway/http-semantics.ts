/**
 * The HTTP decisions of a GET/HEAD on a file, as pure functions: what to send
 * for a given Range / If-Range / If-None-Match (RFC 9110 §13, §14), the
 * Content-Disposition for `?filename=` (RFC 6266 + RFC 8187), and the framing
 * of a multipart/byteranges body (RFC 9110 §14.6).
 */
import { randomBytes } from 'node:crypto';
import { FerryError } from '../../core/errors.js';
import { formatContentRange, parseRangeHeader, resolveRange, type ByteRange } from '../../runtime/http/range.js';

/** Ranges in one request beyond this get the whole file instead (RFC 9110 §14.2 lets a server ignore Range). */
export const MAX_PARTS = 32;
/** Ranges closer than this are merged into one part: a part's framing costs about as much. */
const COALESCE_GAP = 80;

export type Plan =
  | { kind: 'full' }
  | { kind: 'single'; range: ByteRange }
  | { kind: 'multipart'; ranges: ByteRange[] }
  | { kind: 'unsatisfiable' };

export interface RequestHeaders {
  range?: string;
  ifRange?: string;
}

/**
 * What a GET (or HEAD) should answer for a file of `size` bytes and strong ETag `etag`:
 *  - no Range, a Range in another unit, or an If-Range that does not match → the full file;
 *  - If-Range with an HTTP-date never matches: the gateway sends no Last-Modified
 *    (a capability names content, not a moment), so a date cannot be a strong validator;
 *  - a malformed bytes Range or no satisfiable range → 416;
 *  - one range (after merging overlapping / nearly adjacent ones) → 206;
 *  - several → multipart/byteranges, parts in ascending order; more than MAX_PARTS → the full file.
 */
export function planResponse(h: RequestHeaders, size: number, etag: string): Plan {
  if (h.range === undefined) return { kind: 'full' };
  if (!/^\s*bytes\s*=/i.test(h.range)) return { kind: 'full' };
  if (h.ifRange !== undefined && h.ifRange.trim() !== etag) return { kind: 'full' };
  let specs;
  try {
    specs = parseRangeHeader(h.range.trim().replace(/^bytes\s*=\s*/i, 'bytes='), { maxRanges: 1000 });
  } catch {
    return { kind: 'unsatisfiable' };
  }
  const ranges = specs.map((s) => resolveRange(s, size)).filter((r): r is ByteRange => r !== undefined);
  if (ranges.length === 0) return { kind: 'unsatisfiable' };
  const merged = coalesce(ranges);
  if (merged.length === 1) return { kind: 'single', range: merged[0] };
  if (merged.length > MAX_PARTS) return { kind: 'full' };
  return { kind: 'multipart', ranges: merged };
}

export function coalesce(ranges: readonly ByteRange[]): ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const out: ByteRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + COALESCE_GAP) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

/** True when If-None-Match lists our ETag (or `*`): answer 304. Weak comparison, as RFC 9110 §13.1.2 says. */
export function notModified(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((t) => t.trim() === '*' || bare(t) === etag);
}

/**
 * `attachment; filename="…"; filename*=UTF-8''…` for a user-supplied name:
 * path components and control characters are dropped; the quoted form keeps
 * printable ASCII only (others become `_`), the extended form keeps everything.
 * Undefined when nothing usable is left.
 */
export function contentDisposition(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  // eslint-disable-next-line no-control-regex
  const name = (raw.split(/[/\\]/).pop() ?? '').replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 255);
  if (name === '' || name === '.' || name === '..') return undefined;
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_').replace(/%/g, '_');
  const extended = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${extended}`;
}

/** Framing of a multipart/byteranges body: the part headers and the exact total length. */
export class Multipart {
  readonly boundary = `ferry-${randomBytes(12).toString('hex')}`;

  constructor(
    readonly ranges: readonly ByteRange[],
    readonly size: number,
    readonly partType = 'application/octet-stream',
  ) {
    if (ranges.length < 2) throw new FerryError('INVALID_RANGE', 'multipart needs at least two ranges');
  }

  get contentType(): string {
    return `multipart/byteranges; boundary=${this.boundary}`;
  }

  /** Bytes before part `i`'s data (the delimiter and its headers). */
  head(i: number): Buffer {
    const r = this.ranges[i];
    return Buffer.from(`${i === 0 ? '' : '\r\n'}--${this.boundary}\r\nContent-Type: ${this.partType}\r\nContent-Range: ${formatContentRange(r, this.size)}\r\n\r\n`, 'latin1');
  }

  tail(): Buffer {
    return Buffer.from(`\r\n--${this.boundary}--\r\n`, 'latin1');
  }

  get contentLength(): number {
    let n = this.tail().length;
    this.ranges.forEach((r, i) => (n += this.head(i).length + (r.end - r.start)));
    return n;
  }
}
