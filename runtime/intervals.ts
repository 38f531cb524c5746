/**
 * Sets of byte positions as sorted, disjoint, non-adjacent half-open
 * intervals `[start, end)`. Values are plain arrays so they serialise to JSON
 * as `[[0, 16], [32, 48]]`. All functions are pure.
 */
export type Interval = readonly [start: number, end: number];
export type IntervalSet = readonly Interval[];

function checkInterval([s, e]: Interval): void {
  if (!Number.isSafeInteger(s) || !Number.isSafeInteger(e) || s < 0 || e < s) {
    throw new RangeError(`invalid interval [${s}, ${e})`);
  }
}

/** Whether `set` is in canonical form (sorted, disjoint, non-adjacent, non-empty members). */
export function isCanonical(set: readonly (readonly number[])[]): set is IntervalSet {
  let prevEnd = -1;
  for (const iv of set) {
    if (iv.length !== 2) return false;
    const [s, e] = iv;
    if (!Number.isSafeInteger(s) || !Number.isSafeInteger(e) || s < 0 || e <= s || s <= prevEnd) return false;
    prevEnd = e;
  }
  return true;
}

/** `set ∪ [start, end)`. */
export function addInterval(set: IntervalSet, iv: Interval): Interval[] {
  checkInterval(iv);
  let [s, e] = iv;
  if (s === e) return set.slice();
  const out: Interval[] = [];
  let placed = false;
  for (const cur of set) {
    if (cur[1] < s) {
      out.push(cur);
    } else if (cur[0] > e) {
      if (!placed) {
        out.push([s, e]);
        placed = true;
      }
      out.push(cur);
    } else {
      // Overlapping or touching: merge.
      s = Math.min(s, cur[0]);
      e = Math.max(e, cur[1]);
    }
  }
  if (!placed) out.push([s, e]);
  return out;
}

/** `[0, size) \ set`: the gaps. */
export function complement(set: IntervalSet, size: number): Interval[] {
  const out: Interval[] = [];
  let pos = 0;
  for (const [s, e] of set) {
    if (s >= size) break;
    if (s > pos) out.push([pos, s]);
    pos = Math.max(pos, e);
  }
  if (pos < size) out.push([pos, size]);
  return out;
}

/** Total number of positions in `set`. */
export function coveredLength(set: IntervalSet): number {
  let n = 0;
  for (const [s, e] of set) n += e - s;
  return n;
}

/** Whether `set` contains all of `[0, size)`. */
export function coversAll(set: IntervalSet, size: number): boolean {
  return size === 0 || (set.length === 1 && set[0][0] === 0 && set[0][1] >= size);
}

/**
 * Splits `[start, end)` into consecutive pieces, each either entirely inside
 * `set` (`inside: true`) or entirely outside it.
 */
export function splitBy(set: IntervalSet, iv: Interval): { start: number; end: number; inside: boolean }[] {
  checkInterval(iv);
  const [start, end] = iv;
  const out: { start: number; end: number; inside: boolean }[] = [];
  let pos = start;
  for (const [s, e] of set) {
    if (pos >= end) break;
    if (e <= pos) continue;
    if (s >= end) break;
    if (s > pos) {
      out.push({ start: pos, end: s, inside: false });
      pos = s;
    }
    const stop = Math.min(e, end);
    out.push({ start: pos, end: stop, inside: true });
    pos = stop;
  }
  if (pos < end) out.push({ start: pos, end, inside: false });
  return out;
}
