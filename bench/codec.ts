/**
 * Erasure codec throughput: Ferry (in-thread and via CodecPool) against zfec,
 * 3-of-10 with 1 MiB segments (3 blocks of ceil(1 MiB / 3) bytes).
 * MB/s = 10^6 bytes of segment (input) data per second. Decode rebuilds all k
 * blocks from k check shares (the worst case). Each figure is the best of 3 runs.
 *
 *   npm run build && node dist/bench/codec.js [sizeMiB]
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { CodecPool, ErasureCodec, defaultKernel } from '../core/erasure/index.js';

export interface CodecBenchResult {
  k: number;
  m: number;
  blockBytes: number;
  segmentBytes: number;
  /** Segment data coded per run. */
  sizeMiB: number;
  kernel: string;
  poolSize: number;
  ferry: {
    /** In-thread, output buffers reused. */
    inThread: Throughput;
    /** CodecPool, plain calls: inputs copied, results in fresh buffers. */
    pool: Throughput;
    /** CodecPool with recycled buffers: encode with transfer + outputs, decode with outputs. */
    poolRecycled: Throughput;
  };
  zfec: (Throughput & { version: string }) | null;
  /** Ferry / zfec; null when zfec is not installed. */
  ratio: { inThread: Throughput; pool: Throughput; poolRecycled: Throughput } | null;
}

export interface Throughput {
  encodeMBps: number;
  decodeMBps: number;
}

const K = 3;
const M = 10;
const SEGMENT = 1 << 20;
const RUNS = 3;
const PYTHON = '/usr/bin/python3';

// argv: k m blockBytes segments runs; prints {"version", "encodeMBps", "decodeMBps"}.
const ZFEC_TIMER = `
import json, os, sys, time, zfec
k, m, size, segs, runs = (int(a) for a in sys.argv[1:6])
blocks = [os.urandom(size) for _ in range(k)]
enc, dec = zfec.Encoder(k, m), zfec.Decoder(k, m)
nums = list(range(m - k, m))
shares = enc.encode(blocks)
given = [shares[n] for n in nums]
def best(fn):
    fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        for _ in range(segs):
            fn()
        times.append(time.perf_counter() - t)
    return segs * k * size / min(times) / 1e6
e = best(lambda: enc.encode(blocks))
d = best(lambda: dec.decode(list(given), list(nums)))
print(json.dumps({"version": zfec.__version__, "encodeMBps": e, "decodeMBps": d}))
`;

function zfecAvailable(): boolean {
  return spawnSync(PYTHON, ['-c', 'import zfec'], { stdio: 'ignore' }).status === 0;
}

function benchZfec(blockBytes: number, segments: number): CodecBenchResult['zfec'] {
  if (!zfecAvailable()) return null;
  const r = spawnSync(PYTHON, ['-c', ZFEC_TIMER, String(K), String(M), String(blockBytes), String(segments), String(RUNS)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`zfec timing failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as NonNullable<CodecBenchResult['zfec']>;
}

/** Best MB/s over RUNS runs of `segments` calls of fn (after one warm-up call). */
async function best(segments: number, segmentBytes: number, fn: () => unknown): Promise<number> {
  await fn();
  let bestSeconds = Infinity;
  for (let r = 0; r < RUNS; r++) {
    const t = process.hrtime.bigint();
    await fn();
    bestSeconds = Math.min(bestSeconds, Number(process.hrtime.bigint() - t) / 1e9);
  }
  return (segments * segmentBytes) / bestSeconds / 1e6;
}

/** Runs `segments` tasks with `depth` in flight (enough to keep every worker busy). */
function pipelined(segments: number, depth: number, task: () => Promise<unknown>): Promise<void> {
  return pipelinedLanes(segments, Array.from({ length: depth }), task);
}

/** Runs `segments` tasks, one lane per element of `lanes`, each lane sequential. */
async function pipelinedLanes<L>(segments: number, lanes: L[], task: (lane: L) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    lanes.map(async (lane) => {
      while (next < segments) {
        next++;
        await task(lane);
      }
    }),
  );
}

export async function benchCodec(opts: { sizeMiB?: number } = {}): Promise<CodecBenchResult> {
  const sizeMiB = Math.max(1, Math.floor(opts.sizeMiB ?? 64));
  const segments = sizeMiB;
  const blockBytes = Math.ceil(SEGMENT / K);
  const segmentBytes = blockBytes * K;
  const blocks = Array.from({ length: K }, () => randomFillSync(new Uint8Array(blockBytes)));
  const codec = new ErasureCodec(K, M);
  const nums = Array.from({ length: K }, (_, i) => M - K + i);

  // In-thread, reusing output buffers as a streaming uploader would.
  const checks = Array.from({ length: M - K }, () => new Uint8Array(blockBytes));
  const shares = codec.encode(blocks, checks);
  const given = nums.map((n) => shares[n]);
  const rebuilt = Array.from({ length: K }, () => new Uint8Array(blockBytes));
  const encodeMBps = await best(segments, segmentBytes, () => {
    for (let s = 0; s < segments; s++) codec.encode(blocks, checks);
  });
  const decodeMBps = await best(segments, segmentBytes, () => {
    for (let s = 0; s < segments; s++) codec.decode(given, nums, rebuilt);
  });

  const pool = new CodecPool();
  const depth = pool.size * 2;
  let poolT: Throughput;
  let recycledT: Throughput;
  try {
    poolT = {
      encodeMBps: await best(segments, segmentBytes, () => pipelined(segments, depth, () => pool.encode(K, M, blocks))),
      decodeMBps: await best(segments, segmentBytes, () => pipelined(segments, depth, () => pool.decode(K, M, given, nums))),
    };
    // Each lane owns one segment's buffers and reuses what comes back.
    interface Lane {
      blocks: Uint8Array[];
      checks: Uint8Array[];
      rebuilt: Uint8Array[];
    }
    const lanes = Array.from({ length: depth }, (): Lane => ({
      blocks: blocks.map((b) => b.slice()),
      checks: Array.from({ length: M - K }, () => new Uint8Array(blockBytes)),
      rebuilt: Array.from({ length: K }, () => new Uint8Array(blockBytes)),
    }));
    const encodeLane = async (lane: Lane): Promise<void> => {
      const out = await pool.encode(K, M, lane.blocks, { transfer: true, outputs: lane.checks });
      lane.blocks = out.slice(0, K);
      lane.checks = out.slice(K);
    };
    const decodeLane = async (lane: Lane): Promise<void> => {
      lane.rebuilt = await pool.decode(K, M, given, nums, { outputs: lane.rebuilt });
    };
    recycledT = {
      encodeMBps: await best(segments, segmentBytes, () => pipelinedLanes(segments, lanes, encodeLane)),
      decodeMBps: await best(segments, segmentBytes, () => pipelinedLanes(segments, lanes, decodeLane)),
    };
  } finally {
    await pool.close();
  }

  const zfec = benchZfec(blockBytes, segments);
  const ratioOf = (t: Throughput, z: Throughput): Throughput => ({ encodeMBps: t.encodeMBps / z.encodeMBps, decodeMBps: t.decodeMBps / z.decodeMBps });
  const inThread = { encodeMBps, decodeMBps };
  return {
    k: K,
    m: M,
    blockBytes,
    segmentBytes,
    sizeMiB,
    kernel: defaultKernel().name,
    poolSize: pool.size,
    ferry: { inThread, pool: poolT, poolRecycled: recycledT },
    zfec,
    ratio: zfec === null ? null : { inThread: ratioOf(inThread, zfec), pool: ratioOf(poolT, zfec), poolRecycled: ratioOf(recycledT, zfec) },
  };
}

export function formatCodecBench(r: CodecBenchResult): string {
  const f = (x: number): string => x.toFixed(0).padStart(8);
  const x = (v: number): string => `${v.toFixed(2)}x`.padStart(8);
  const row = (label: string, t: Throughput, z: Throughput | null): string =>
    `${label.padEnd(24)}${f(t.encodeMBps)}${f(t.decodeMBps)}` + (z === null ? '' : `   ${x(t.encodeMBps / z.encodeMBps)}${x(t.decodeMBps / z.decodeMBps)}`);
  const z = r.zfec;
  return [
    `erasure ${r.k}-of-${r.m}, ${r.segmentBytes}-byte segments, ${r.sizeMiB} per run, kernel ${r.kernel}, pool of ${r.poolSize}`,
    `${'MB/s'.padEnd(24)}${'encode'.padStart(8)}${'decode'.padStart(8)}` + (z === null ? '' : `   ${'vs zfec'.padStart(8)}${''.padStart(8)}`),
    ...(z === null ? ['zfec: not installed (/usr/bin/python3 -c "import zfec" failed)'] : [row(`zfec ${z.version}`, z, null)]),
    row('ferry in-thread', r.ferry.inThread, z),
    row('ferry pool', r.ferry.pool, z),
    row('ferry pool, recycled', r.ferry.poolRecycled, z),
  ].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sizeMiB = process.argv[2] === undefined ? undefined : Number(process.argv[2]);
  const result = await benchCodec({ sizeMiB });
  console.log(formatCodecBench(result));
  console.log(JSON.stringify(result));
}
