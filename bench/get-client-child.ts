/**
 * The HTTP client of bench/download.ts, in its own process as in real use (a
 * downloader never shares the gateway's event loop). It waits for requests
 * over IPC and answers each with its timings; the body is read and dropped.
 *   parent → { url, range? }     child → { ttfbMs, totalMs, bytes, cpuSeconds } | { error }
 */
import { Agent, request } from 'undici';

export interface GetRequest {
  url: string;
  range?: string;
}

/** `cpuSeconds`: what this process spent on the request (user + system). */
export type GetAnswer = { ttfbMs: number; totalMs: number; bytes: number; cpuSeconds: number } | { error: string };

const agent = new Agent({ connections: 4 });

async function get(req: GetRequest): Promise<GetAnswer> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const res = await request(req.url, { dispatcher: agent, headers: req.range ? { range: req.range } : {}, headersTimeout: 600_000, bodyTimeout: 600_000 });
  if (res.statusCode !== 200 && res.statusCode !== 206) return { error: `GET ${req.range ?? ''} answered ${res.statusCode}: ${await res.body.text()}` };
  let ttfbMs = -1;
  let bytes = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    if (ttfbMs < 0) ttfbMs = performance.now() - t0;
    bytes += chunk.length;
  }
  const cpu = process.cpuUsage(cpu0);
  return { ttfbMs, totalMs: performance.now() - t0, bytes, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

process.on('message', (req: GetRequest) => {
  get(req).then(
    (answer) => process.send!(answer),
    (err: unknown) => process.send!({ error: err instanceof Error ? err.message : String(err) }),
  );
});
process.on('disconnect', () => void agent.close());
