/**
 * Human-friendly byte sizes, as Tahoe-LAFS reads them: decimal units are
 * powers of 1000 (`10G` = 10 000 000 000), binary units powers of 1024
 * (`1.5GiB`). Case-insensitive, an optional `B`, optional space:
 * `512M`, `512MB`, `512 mib`, `1.5GiB`, `1000`, `0`.
 */
const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  t: 1e12,
  p: 1e15,
  ki: 2 ** 10,
  mi: 2 ** 20,
  gi: 2 ** 30,
  ti: 2 ** 40,
  pi: 2 ** 50,
};

const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([kmgtp]i?)?b?$/i;

/** Parses a size into a whole number of bytes (fractions are rounded down). Throws RangeError. */
export function parseSize(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0) throw new RangeError(`size must be a non-negative integer, got ${input}`);
    return input;
  }
  const text = input.trim();
  const m = SIZE_RE.exec(text);
  if (!m) throw new RangeError(`invalid size ${JSON.stringify(input)} (examples: 1000, 512M, 10G, 1.5GiB)`);
  const unit = UNITS[(m[2] ?? '').toLowerCase()];
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw new RangeError(`size ${JSON.stringify(input)} is too large`);
  return bytes;
}

/** Formats bytes with a binary unit for messages: `1.5 GiB`, `512 B`. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let i = 0;
  while (Math.abs(value) >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} B` : `${Number(value.toFixed(value < 10 ? 2 : 1))} ${units[i]}`;
}
