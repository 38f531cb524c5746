/** Bench output: absolute numbers are printed for reference; ratios to same-run baselines are what we judge. */
export interface BenchRow {
  figure: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
  goal?: string;
  note?: string;
}

export function mbps(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function printTable(rows: BenchRow[]): void {
  const cells = rows.map((r) => [
    r.figure,
    `${round(r.value)} ${r.unit}`,
    r.baseline === undefined ? '' : `${round(r.baseline)} ${r.unit}`,
    r.ratio === undefined ? '' : `${round(r.ratio)}x`,
    r.goal ?? '',
    r.note ?? '',
  ]);
  const head = ['figure', 'ferry', 'baseline', 'ratio', 'goal', 'note'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i])).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
}
