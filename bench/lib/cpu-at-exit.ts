/**
 * Preloaded (`node --import`) into a bench child: at exit, writes the
 * process's CPU time to FERRY_BENCH_CPU_FILE. Does nothing without it.
 */
import { writeFileSync } from 'node:fs';

const file = process.env.FERRY_BENCH_CPU_FILE;
if (file) {
  process.on('exit', () => {
    writeFileSync(file, JSON.stringify(process.cpuUsage()));
  });
}
