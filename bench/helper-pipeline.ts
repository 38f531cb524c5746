import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeBenchFile } from './lib/ciphertext-file.js';
import { BENCH_CLIENT_TOKEN, startBenchGrid } from './lib/local-grid.js';
import { mbps, printTable, type BenchRow } from './lib/report.js';
import { tusPut, waitForJob } from './lib/tus-put.js';

/**
 * The helper's own pipeline on a grid of 10 loopback storage servers:
 * upload time of the ciphertext, then the time from the last byte received
 * to the recorded result (goal, issue 14: at most 0.5 of the upload time on loopback).
 */
export async function benchHelperPipeline(o: { sizeMiB?: number } = {}): Promise<BenchRow[]> {
  const sizeMiB = o.sizeMiB ?? 1024;
  const grid = await startBenchGrid();
  try {
    const file = await makeBenchFile(path.join(grid.dir, 'ct.bin'), sizeMiB * 1024 * 1024, { k: 3, n: 10, maxSegmentSize: 1024 * 1024 });
    const t0 = performance.now();
    await tusPut(grid.helper.url, BENCH_CLIENT_TOKEN, file, 7);
    const uploaded = performance.now();
    await waitForJob(grid.helper.url, BENCH_CLIENT_TOKEN, file.si);
    const done = performance.now();
    const uploadMs = uploaded - t0;
    const tailMs = done - uploaded;
    return [
      { figure: 'helper: upload into the spool (pipelined encode running)', value: mbps(file.size, uploadMs), unit: 'MB/s', note: `${sizeMiB} MiB in ${Math.round(uploadMs)} ms` },
      { figure: 'helper: last byte -> result / upload time', value: tailMs / uploadMs, unit: '', goal: '<= 0.5', note: `${Math.round(tailMs)} ms after the last byte; total ${Math.round(done - t0)} ms (${mbps(file.size, done - t0).toFixed(1)} MB/s end to end)` },
    ];
  } finally {
    await grid.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const size = Number(process.argv.find((a) => a.startsWith('--size='))?.slice(7) ?? 1024);
  printTable(await benchHelperPipeline({ sizeMiB: size }));
}
