import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErasureCodec } from '../../../core/erasure/index.js';
import type { EncodeFn } from '../../../helper/encode/encode-push.js';
import { clientIdOf } from '../../../helper/http/client-auth.js';
import { ADMIN_TOKEN, startAdminGrid } from '../../support/admin.js';
import { HelperCalls } from '../../support/helper-client.js';
import { checkBody, prepare } from '../../support/prepare.js';
import { requireDependency, skipWithout } from '../../support/required.js';

/**
 * The live admin page in a real headless Chromium (Debian's `chromium`,
 * driven by playwright-core). Skipped when either is missing, except under CI,
 * where that is a failure.
 */
const CHROMIUM = '/usr/bin/chromium';

interface Dialog {
  accept(): Promise<void>;
}
interface Page {
  goto(url: string): Promise<unknown>;
  fill(selector: string, value: string): Promise<void>;
  click(selector: string): Promise<void>;
  waitForSelector(selector: string, o?: { state?: 'attached' | 'detached' | 'visible' | 'hidden'; timeout?: number }): Promise<unknown>;
  evaluate<T>(expression: string): Promise<T>;
  textContent(selector: string): Promise<string | null>;
  screenshot(o: { path: string; fullPage?: boolean }): Promise<unknown>;
  on(event: 'dialog', fn: (d: Dialog) => void): void;
  on(event: 'pageerror', fn: (e: Error) => void): void;
  on(event: 'console', fn: (m: { type(): string; text(): string }) => void): void;
}
interface Context {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}
interface Playwright {
  chromium: {
    launchPersistentContext(dir: string, o: { executablePath: string; headless: boolean; args: string[]; viewport?: { width: number; height: number } }): Promise<Context>;
  };
}

// A variable specifier: playwright-core is optional, and typecheck must pass without it.
const PLAYWRIGHT = 'playwright-core';
let importError = '';
const playwright = (await import(PLAYWRIGHT).catch((err: Error) => {
  importError = err.message;
  return undefined;
})) as Playwright | undefined;
const canRun = existsSync(CHROMIUM) && playwright !== undefined;

/** In-thread codec that waits before segment i until `released > i`. */
function gatedEncode() {
  let released = 0;
  let waiting: (() => void)[] = [];
  let segment = 0;
  const encode: EncodeFn = async (k, n, blocks) => {
    const i = segment++;
    while (i >= released) await new Promise<void>((r) => waiting.push(r));
    return new ErasureCodec(k, n).encode(blocks.map((b) => new Uint8Array(b)));
  };
  return {
    encode,
    release(upTo: number) {
      released = upTo;
      const wake = waiting;
      waiting = [];
      for (const w of wake) w();
    },
  };
}

async function until<T>(what: string, fn: () => Promise<T | false | undefined | null>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== false && v !== undefined && v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

describe('admin page in Chromium', () => {
  it.skipIf(skipWithout(canRun))('shows an upload moving, escapes job data, and pauses and resumes intake', async () => {
    requireDependency(existsSync(CHROMIUM), CHROMIUM);
    requireDependency(playwright !== undefined, `playwright-core (${importError})`);
    const gate = gatedEncode();
    const grid = await startAdminGrid({ servers: 4, encode: gate.encode, helper: { limits: { pipeline: false } } });
    cleanups.push(() => grid.close());
    const userDataDir = await mkdtemp(path.join(os.tmpdir(), 'ferry-chromium-'));
    cleanups.push(() => rm(userDataDir, { recursive: true, force: true }));
    const context = await playwright!.chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    cleanups.push(() => context.close());
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/401 \(Unauthorized\)/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    page.on('dialog', (d) => void d.accept());

    // Sign in: the token goes to session storage, the page goes live.
    await page.goto(`${grid.adminUrl}/admin/`);
    await page.waitForSelector('#login', { state: 'visible' });
    // Before sign-in: no action buttons, no connection badge.
    const shown = (sel: string) => page.evaluate<boolean>(`(() => { const e = document.querySelector('${sel}'); return Boolean(e && e.offsetParent !== null); })()`);
    for (const sel of ['#actions', '#pause-intake', '#run-sweep', '#probe-servers', '#sign-out', '#conn']) expect(await shown(sel), sel).toBe(false);
    await page.fill('#token', 'not-the-admin-token-0123');
    await page.click('#login-form button[type=submit]');
    await until('the refusal of a wrong token', async () => /refused/.test((await page.textContent('#message')) ?? ''));
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#dash', { state: 'visible' });
    await until('the live feed', async () => (await page.textContent('#conn')) === 'live');
    expect(await shown('#conn')).toBe(true);
    expect(await shown('#run-sweep')).toBe(true);
    expect(await page.evaluate<string | null>(`sessionStorage.getItem('ferry-admin-token')`)).toBe(ADMIN_TOKEN);
    expect(await page.evaluate<string>(`document.cookie`)).toBe('');
    expect(await page.textContent('#servers tbody')).toContain('reachable');
    expect(await page.evaluate<number>(`document.querySelectorAll('#servers tbody tr').length`)).toBe(4);

    // An upload, half of it first: the received bar shows it.
    const h = new HelperCalls(grid.helper.url);
    const f = await prepare(randomBytes(8 * 65_538)); // 8 segments of 65538 bytes (64 KiB rounded up to k = 3)
    const seg = f.geometry.segmentSize;
    expect(f.geometry.numSegments).toBe(8);
    expect((await h.check(checkBody(f, 3))).json.status).toBe('send');
    const row = `#jobs tr[data-si="${f.si}"]`;
    const bar = (kind: string) => page.evaluate<number | null>(`(() => { const p = document.querySelector('${row} progress.${kind}'); return p ? p.value : null; })()`);
    expect(await until('the new job row', async () => (await bar('received')) === 0)).toBe(true);
    expect((await h.patch(f.si, 0, f.ciphertext.subarray(0, 4 * seg))).status).toBe(204);
    expect(await until('received at 50 %', async () => (await bar('received')) === 0.5)).toBe(true);
    expect(await page.textContent(`${row} .received-label`)).toBe('50%');
    // The row names the client token that sent the job by its id, never the token.
    expect(await page.textContent(`${row} td.owner`)).toBe(clientIdOf(h.token));
    expect(await page.evaluate<string>(`document.body.textContent`)).not.toContain(h.token);
    // The throughput tile shows the current rate: the half file just received, not a minute's average.
    const receivedNow = await until('a current received rate', async () => {
      const text = (await page.textContent('#ov-throughput')) ?? '';
      const m = /received(\d+(?:\.\d+)?) (B|KiB|MiB)\/s/.exec(text);
      const n = m ? Number(m[1]) * { B: 1, KiB: 1024, MiB: 2 ** 20 }[m[2] as 'B'] : 0;
      return n > 0 ? n : false;
    });
    // 4 segments in (at most) the 5 recent seconds: above what the minute's average would allow.
    expect(receivedNow).toBeGreaterThan((4 * seg) / 60);

    // The rest: the job is queued and encodes as far as the gate lets it.
    expect((await h.patch(f.si, 4 * seg, f.ciphertext.subarray(4 * seg))).status).toBe(204);
    expect(await until('received at 100 %', async () => (await bar('received')) === 1)).toBe(true);
    gate.release(3);
    const partly = await until('encoding under way', async () => {
      const v = await bar('encoded');
      return v !== null && v > 0 && v < 1 ? v : false;
    });
    expect(partly).toBeGreaterThan(0);
    expect(await page.textContent(`${row} .pill`)).toBe('encoding');
    // Screenshots go to FERRY_SCREENSHOT_DIR when set (to look at), else to this test's temp dir.
    const shots = process.env.FERRY_SCREENSHOT_DIR ?? userDataDir;
    await page.screenshot({ path: path.join(shots, 'ferry-admin-page.png'), fullPage: true });
    gate.release(Infinity);
    await until('the job to leave the active list', async () => (await page.evaluate<number>(`document.querySelectorAll('${row}').length`)) === 0);
    await until('the job in the finished list', async () => /done/.test((await page.textContent(`#recent tr[data-si="${f.si}"]`)) ?? ''));
    expect(await page.textContent(`#recent tr[data-si="${f.si}"] td.owner`)).toBe(clientIdOf(h.token));
    const sharesShown = `[...document.querySelectorAll('#servers tbody tr')].reduce((a, tr) => a + Number(tr.children[5].textContent), 0)`;
    expect(await until('shares pushed in the server table', async () => (await page.evaluate<number>(sharesShown)) === 10)).toBe(true);

    // Job data is shown as text, never as markup.
    const x = await prepare(randomBytes(3 * 65_538));
    await h.check(checkBody(x, 3));
    const evil = `<img src=x onerror="window.__pwned=1"><b>bold</b>`;
    await grid.helper.helper.jobs.update(x.si, (j) => (j.lastError = evil));
    const xRow = `#jobs tr[data-si="${x.si}"]`;
    await until('the error text', async () => (await page.textContent(`${xRow} td.err`)) === evil);
    expect(await page.evaluate<number>(`document.querySelectorAll('#jobs img, #jobs b').length`)).toBe(0);
    expect(await page.evaluate<unknown>(`window.__pwned`)).toBeUndefined();

    // Cancel from the page (the confirm dialog is accepted).
    await page.click(`${xRow} button.cancel`);
    await until('the cancelled job', async () => (await h.job(x.si)).json.state === 'cancelled');
    await until('the row to go', async () => (await page.evaluate<number>(`document.querySelectorAll('${xRow}').length`)) === 0);

    // Pause intake: a new upload gets 503 with Retry-After; resume opens it again.
    const next = await prepare(randomBytes(10_000));
    await page.click('#pause-intake');
    await until('intake paused', async () => (await page.textContent('#intake')) === 'intake paused');
    expect(grid.helper.helper.actions.intakePaused).toBe(true);
    const refused = await fetch(`${grid.helper.url}/helper/v1/check`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(checkBody(next, 3)),
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('30');
    await page.click('#resume-intake');
    await until('intake open', async () => (await page.textContent('#intake')) === 'intake open');
    expect((await h.check(checkBody(next, 3))).json.status).toBe('send');

    // Run the sweep from the page.
    await page.click('#run-sweep');
    await until('the sweep report', async () => /Sweep done/.test((await page.textContent('#message')) ?? ''));
    await page.screenshot({ path: path.join(shots, 'ferry-admin-page-end.png'), fullPage: true });

    // Signing out forgets the token.
    await page.click('#sign-out');
    await page.waitForSelector('#login', { state: 'visible' });
    expect(await page.evaluate<string | null>(`sessionStorage.getItem('ferry-admin-token')`)).toBeNull();
    expect(problems).toEqual([]);
  });
});
