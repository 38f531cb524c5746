import { createReadStream } from 'node:fs';
import { request } from 'undici';
import type { BenchFile } from './ciphertext-file.js';

const CHUNK = 64 * 1024 * 1024;

/** check + tus PATCHes of a ciphertext file, as a client would; returns the check answer. */
export async function tusPut(helperUrl: string, token: string, file: BenchFile, happy: number): Promise<{ status: string }> {
  const headers = { authorization: `Bearer ${token}` };
  const check = await request(`${helperUrl}/helper/v1/check`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ storageIndex: file.si, size: file.size, ...file.params, happy, segmentHashes: file.hashes.toString('base64') }),
  });
  const answer = (await check.body.json()) as { status: string; uploadPath: string; offset: number };
  if (answer.status !== 'send') return answer;
  let offset = answer.offset;
  while (offset < file.size) {
    const end = Math.min(file.size, offset + CHUNK);
    const res = await request(`${helperUrl}${answer.uploadPath}`, {
      method: 'PATCH',
      headers: { ...headers, 'tus-resumable': '1.0.0', 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream', 'content-length': String(end - offset) },
      body: createReadStream(file.path, { start: offset, end: end - 1, highWaterMark: 1024 * 1024 }),
    });
    await res.body.dump();
    if (res.statusCode !== 204) throw new Error(`PATCH answered ${res.statusCode}`);
    offset = Number(res.headers['upload-offset']);
  }
  return answer;
}

/** Polls the job until done (or failed: throws). */
export async function waitForJob(helperUrl: string, token: string, si: string, timeoutMs = 600_000): Promise<Record<string, unknown>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const res = await request(`${helperUrl}/helper/v1/jobs/${si}`, { headers: { authorization: `Bearer ${token}` } });
    const job = (await res.body.json()) as Record<string, unknown>;
    if (job.state === 'done') return job;
    if (job.state === 'failed') throw new Error(`job failed: ${String(job.lastError)}`);
    if (Date.now() > end) throw new Error(`job still ${String(job.state)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
