import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publish } from '../../../helper/diagnostics.js';
import { JOB_DURATION_BUCKETS } from '../../../helper/metrics/registry.js';
import { CLIENT_TOKEN } from '../../support/grid.js';
import { HelperCalls } from '../../support/helper-client.js';
import { checkBody, prepare, type PreparedFile } from '../../support/prepare.js';
import { ADMIN_TOKEN, startAdminGrid } from '../../support/admin.js';

type Grid = Awaited<ReturnType<typeof startAdminGrid>>;

interface Family {
  name: string;
  type?: string;
  help?: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4):
 * every line is a HELP, a TYPE, a comment or a sample; labels are quoted
 * with \\, \" and \n escapes; values are floats, NaN or ±Inf.
 */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, samples: [] }));
    return f;
  };
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const sample = new RegExp(`^(${NAME})(?:\\{(.*)\\})?\\s+(\\S+)(?:\\s+(-?\\d+))?$`);
  const label = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line))) {
      expect(family(m[1]).help, `second HELP for ${m[1]}`).toBeUndefined();
      family(m[1]).help = m[2];
      continue;
    }
    if ((m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line))) {
      expect(family(m[1]).type, `second TYPE for ${m[1]}`).toBeUndefined();
      expect(family(m[1]).samples, `TYPE after samples of ${m[1]}`).toHaveLength(0);
      family(m[1]).type = m[2];
      continue;
    }
    if (line.startsWith('#')) continue;
    m = sample.exec(line);
    if (!m) throw new Error(`not an exposition line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      label.lastIndex = 0;
      while (label.lastIndex < m[2].length) {
        const l = label.exec(m[2]);
        if (!l) throw new Error(`bad labels in ${JSON.stringify(line)}`);
        labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      }
    }
    // Prometheus reads values with Go's ParseFloat: NaN and Inf in any case (prom-client writes "Nan").
    const raw = m[3].toLowerCase();
    const value = raw === '+inf' || raw === 'inf' ? Infinity : raw === '-inf' ? -Infinity : raw === 'nan' ? NaN : Number(raw);
    if (Number.isNaN(value) && raw !== 'nan') throw new Error(`bad value in ${JSON.stringify(line)}`);
    const base = m[1].replace(/_(bucket|sum|count)$/, '');
    const owner = families.has(m[1]) ? m[1] : families.get(base)?.type === 'histogram' || families.get(base)?.type === 'summary' ? base : m[1];
    family(owner).samples.push({ name: m[1], labels, value });
  }
  return families;
}

const one = (f: Map<string, Family>, name: string, labels: Record<string, string> = {}) => {
  const fam = f.get(name.replace(/_(bucket|sum|count)$/, '')) ?? f.get(name);
  const s = fam?.samples.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  expect(s, `${name} ${JSON.stringify(labels)}`).toHaveLength(1);
  return s![0].value;
};

let grid: Grid;
let f: PreparedFile;
let partialBytes: number;

beforeAll(async () => {
  // No pipelining: the half-sent upload below must not hold a worker slot.
  grid = await startAdminGrid({ servers: 4, helper: { limits: { pipeline: false } } });
  const h = new HelperCalls(grid.helper.url);
  f = await prepare(randomBytes(200_000));
  await h.upload(f, 3);
  expect((await h.waitFor(f.si)).state).toBe('done');
  // A second check of the same file: the grid has it.
  expect((await h.check(checkBody(f, 3))).json.status).toBe('have-it');
  // And one upload left half-way, for the holding-dir gauge.
  const partial = await prepare(randomBytes(300_000));
  await h.check(checkBody(partial, 3));
  partialBytes = partial.geometry.segmentSize * 2;
  expect((await h.patch(partial.si, 0, partial.ciphertext.subarray(0, partialBytes))).status).toBe(204);
});
afterAll(() => grid.close());

const scrape = async () => {
  const res = await request(grid.adminUrl).get('/metrics').set({ authorization: `Bearer ${ADMIN_TOKEN}` });
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return { text: res.text, families: parseExposition(res.text) };
};

describe('/metrics', () => {
  it('needs the admin token, not a client token', async () => {
    expect((await request(grid.adminUrl).get('/metrics')).status).toBe(401);
    expect((await request(grid.adminUrl).get('/metrics').set({ authorization: `Bearer ${CLIENT_TOKEN}` })).status).toBe(401);
  });

  it('is valid exposition text, each family with HELP and TYPE', async () => {
    const { families } = await scrape();
    for (const fam of families.values()) {
      expect(fam.help, fam.name).toEqual(expect.any(String));
      expect(fam.type, fam.name).toEqual(expect.any(String));
      if (fam.type === 'counter') for (const s of fam.samples) expect(s.value, s.name).toBeGreaterThanOrEqual(0);
    }
  });

  it("counts checks and bytes like Tahoe's helper stats", async () => {
    const { families: m } = await scrape();
    expect(m.get('ferry_helper_upload_requests_total')?.type).toBe('counter');
    expect(one(m, 'ferry_helper_upload_requests_total')).toBe(3);
    expect(one(m, 'ferry_helper_already_present_total')).toBe(1);
    expect(one(m, 'ferry_helper_need_upload_total')).toBe(2);
    expect(one(m, 'ferry_helper_resumes_total')).toBe(0);
    expect(one(m, 'ferry_helper_received_bytes_total')).toBe(200_000 + partialBytes);
    expect(one(m, 'ferry_helper_encoded_bytes_total')).toBe(200_000);
    expect(one(m, 'ferry_helper_pushed_bytes_total')).toBeGreaterThan(200_000);
    expect(one(m, 'ferry_helper_jobs_done_total')).toBe(1);
  });

  it('has a histogram of job durations', async () => {
    const { families: m } = await scrape();
    const fam = m.get('ferry_helper_job_duration_seconds')!;
    expect(fam.type).toBe('histogram');
    const buckets = fam.samples.filter((s) => s.name.endsWith('_bucket'));
    expect(buckets.map((b) => b.labels.le)).toEqual([...JOB_DURATION_BUCKETS.map(String), '+Inf']);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i].value).toBeGreaterThanOrEqual(buckets[i - 1].value);
    expect(buckets.at(-1)!.value).toBe(1);
    expect(one(m, 'ferry_helper_job_duration_seconds_count')).toBe(1);
    expect(one(m, 'ferry_helper_job_duration_seconds_sum')).toBeGreaterThan(0);
  });

  it('has gauges for jobs per state, queue depth, holding-dir bytes, intake and servers', async () => {
    const { families: m } = await scrape();
    expect(m.get('ferry_helper_jobs')?.type).toBe('gauge');
    expect(one(m, 'ferry_helper_jobs', { state: 'done' })).toBe(1);
    expect(one(m, 'ferry_helper_jobs', { state: 'receiving' })).toBe(1);
    expect(one(m, 'ferry_helper_jobs', { state: 'failed' })).toBe(0);
    expect(one(m, 'ferry_helper_queue_jobs', { queue: 'running' })).toBe(0);
    expect(one(m, 'ferry_helper_queue_jobs', { queue: 'waiting' })).toBe(0);
    expect(one(m, 'ferry_helper_holding_bytes', { dir: 'incoming' })).toBeGreaterThan(0);
    expect(one(m, 'ferry_helper_holding_bytes', { dir: 'encoding' })).toBe(0);
    expect(one(m, 'ferry_helper_intake_paused')).toBe(0);
    expect(one(m, 'ferry_helper_storage_servers')).toBe(4);
    const up = m.get('ferry_helper_storage_server_up')!.samples;
    expect(up).toHaveLength(4);
    for (const s of up) {
      expect(s.value).toBe(1);
      expect(s.labels.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/#spki=/);
    }
    const shares = m.get('ferry_helper_storage_server_shares_pushed_total')!.samples.reduce((a, s) => a + s.value, 0);
    expect(shares).toBe(10);
    expect(one(m, 'ferry_helper_throughput_bytes_per_second', { flow: 'received' })).toBeGreaterThan(0);
    expect(one(m, 'ferry_helper_info')).toBe(1);

    grid.helper.helper.actions.pauseIntake();
    try {
      expect(one((await scrape()).families, 'ferry_helper_intake_paused')).toBe(1);
    } finally {
      grid.helper.helper.actions.resumeIntake();
    }
  });

  it('includes process metrics', async () => {
    const { families: m } = await scrape();
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(m.has(name), name).toBe(true);
    }
  });

  it('keeps the registries of two helpers in one process apart, and can be public', async () => {
    const other = await startAdminGrid({ servers: 1, helper: { admin: { metricsPublic: true } } });
    try {
      const res = await request(other.adminUrl).get('/metrics');
      expect(res.status).toBe(200);
      const m = parseExposition(res.text);
      expect(one(m, 'ferry_helper_upload_requests_total')).toBe(0);
      expect(one(m, 'ferry_helper_storage_servers')).toBe(1);
      // The API is still closed.
      expect((await request(other.adminUrl).get('/admin/api/v1/overview')).status).toBe(401);
    } finally {
      await other.close();
    }
    expect(one((await scrape()).families, 'ferry_helper_upload_requests_total')).toBe(3);
  });

  it("counts its gateway's requests, bytes, share failures and grid reads, not another helper's", async () => {
    const gateway = grid.helper.helper.gateway;
    const stranger = {}; // another helper's gateway in the same process
    publish('ferry:gateway:request', gateway, () => ({ method: 'GET' }));
    publish('ferry:gateway:request', gateway, () => ({ method: 'HEAD' }));
    publish('ferry:gateway:request', stranger, () => ({ method: 'GET' }));
    publish('ferry:gateway:served', gateway, () => ({ bytes: 1000, segments: 2 }));
    publish('ferry:gateway:served', stranger, () => ({ bytes: 7, segments: 1 }));
    publish('ferry:gateway:share-failure', gateway, () => ({ server: 'srv-a', shnum: 1, kind: 'corrupt' }));
    publish('ferry:grid:read', gateway, () => ({ server: 'srv-a', bytes: 500 }));
    publish('ferry:grid:read', gateway, () => ({ server: 'srv-a', bytes: 20, error: 'timed out' }));
    publish('ferry:grid:corruption-report', gateway, () => ({ server: 'srv-a', si: f.si, shnum: 1 }));
    publish('ferry:grid:corruption-report', stranger, () => ({ server: 'srv-a', si: f.si, shnum: 2 }));

    const { families: m } = await scrape();
    expect(m.get('ferry_gateway_requests_total')?.type).toBe('counter');
    expect(one(m, 'ferry_gateway_requests_total', { method: 'GET' })).toBe(1);
    expect(one(m, 'ferry_gateway_requests_total', { method: 'HEAD' })).toBe(1);
    expect(one(m, 'ferry_gateway_served_bytes_total')).toBe(1000);
    expect(one(m, 'ferry_gateway_served_segments_total')).toBe(2);
    expect(one(m, 'ferry_gateway_share_failures_total', { kind: 'corrupt' })).toBe(1);
    expect(one(m, 'ferry_grid_read_bytes_total', { server: 'srv-a' })).toBe(520);
    expect(one(m, 'ferry_grid_read_errors_total', { server: 'srv-a' })).toBe(1);
    expect(one(m, 'ferry_grid_corruption_reports_total', { server: 'srv-a' })).toBe(1);
  });
});
