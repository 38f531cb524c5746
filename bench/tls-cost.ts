/**
 * The cost of TLS on the helper → storage hop (the hop that carries n/k times
 * the file): the same put and the same gateway GET, once with the storage
 * servers on pinned HTTPS (the default) and once on plain HTTP, in one run.
 * Ratios are TLS / HTTP throughput (goal ≥ 0.9×); CPU-seconds per GiB are
 * printed for both. The client → helper hop is loopback HTTP in both.
 */
import { benchDownload } from './download.js';
import { benchEndToEnd } from './e2e.js';
import { round, type BenchRow } from './lib/report.js';

function find(rows: BenchRow[], prefix: string): BenchRow {
  const row = rows.find((r) => r.figure.startsWith(prefix));
  if (!row) throw new Error(`bench: no "${prefix}" figure`);
  return row;
}

export async function benchTlsCost(o: { sizeMiB: number }): Promise<BenchRow[]> {
  const putHttp = await benchEndToEnd({ sizeMiB: o.sizeMiB, tls: false });
  const putTls = await benchEndToEnd({ sizeMiB: o.sizeMiB, tls: true });
  const getHttp = (await benchDownload({ sizeMiB: o.sizeMiB, tls: false })).rows;
  const getTls = (await benchDownload({ sizeMiB: o.sizeMiB, tls: true })).rows;
  const pair = (figure: string, tls: BenchRow, http: BenchRow, cpuTls: BenchRow, cpuHttp: BenchRow): BenchRow => ({
    figure,
    value: tls.value,
    unit: 'MB/s',
    baseline: http.value,
    ratio: tls.value / http.value,
    goal: '>= 0.9x',
    note: `${o.sizeMiB} MiB; CPU-s/GiB ${round(cpuTls.value, 1)} over TLS vs ${round(cpuHttp.value, 1)} over HTTP`,
  });
  return [
    pair('TLS cost: ferry put, storage hop over TLS / HTTP', find(putTls, 'end-to-end'), find(putHttp, 'end-to-end'), find(putTls, 'CPU-s per GiB put, all'), find(putHttp, 'CPU-s per GiB put, all')),
    pair('TLS cost: full gateway GET, storage hop over TLS / HTTP', find(getTls, 'download: full GET'), find(getHttp, 'download: full GET'), find(getTls, 'CPU-s per GiB full GET, helper (gateway) +'), find(getHttp, 'CPU-s per GiB full GET, helper (gateway) +')),
  ];
}
