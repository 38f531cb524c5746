/**
 * Durations for configuration: a number of milliseconds, or text such as
 * `500ms`, `30s`, `15m`, `12h`, `7d`, `2w`, and combinations like `1d12h`.
 */
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

const PART_RE = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/gy;

/** Parses a duration into whole milliseconds. Throws RangeError. */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0) throw new RangeError(`duration must be a non-negative integer of milliseconds, got ${input}`);
    return input;
  }
  const text = input.trim().toLowerCase();
  if (/^\d+$/.test(text)) return parseDuration(Number(text));
  let total = 0;
  let matched = 0;
  PART_RE.lastIndex = 0;
  for (let m = PART_RE.exec(text); m; m = PART_RE.exec(text)) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    matched = PART_RE.lastIndex;
  }
  if (text.length === 0 || matched !== text.length) {
    throw new RangeError(`invalid duration ${JSON.stringify(input)} (examples: 30s, 15m, 12h, 7d)`);
  }
  const ms = Math.floor(total);
  if (!Number.isSafeInteger(ms)) throw new RangeError(`duration ${JSON.stringify(input)} is too large`);
  return ms;
}
