import path from 'node:path';
import type { Command } from 'commander';
import { formatSize } from '../runtime/size.js';
import { defaultStateDir, findHome, type ClientSettings } from '../client/config.js';
import { processAlive, readGridFile, type GridFile } from './grid-file.js';
import type { HelperInfo, JobView } from '../client/helper-api.js';
import type { TransferRecord } from '../client/journal.js';
import { JOURNAL_DIR } from '../client/state-dir.js';
import { clientSettings } from './settings.js';
import { UsageError, type GlobalFlags } from './usage.js';

interface StatusReport {
  home: string | null;
  stateDir: string;
  grid: (GridFile & { running: boolean }) | null;
  helper: { url: string; reachable: boolean; refused?: boolean; info?: HelperInfo; error?: string } | null;
  /** What is wrong, if anything: the exit code is 1 then. */
  problems: string[];
  transfers: (Omit<TransferRecord, 'key' | 'id'> & { job?: Pick<JobView, 'state' | 'received' | 'segmentsEncoded' | 'lastError' | 'permanent'> })[];
}

async function gather(cmd: Command): Promise<StatusReport> {
  let settings: ClientSettings | undefined;
  try {
    settings = await clientSettings(cmd);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
  }
  const g = cmd.optsWithGlobals<GlobalFlags>();
  const home = settings?.home ?? (await findHome(g));
  const stateDir = settings?.stateDir ?? (g.stateDir ? path.resolve(g.stateDir) : defaultStateDir(home));
  const gridFile = home ? await readGridFile(home) : undefined;
  const report: StatusReport = {
    home: home ?? null,
    stateDir,
    grid: gridFile ? { ...gridFile, running: processAlive(gridFile.pid) } : null,
    helper: null,
    transfers: [],
    problems: [],
  };
  const [{ HelperApi }, { createAgent, HelperError }, { Journal }] = await Promise.all([import('../client/helper-api.js'), import('../client/http.js'), import('../client/journal.js')]);
  const records = await new Journal(path.join(stateDir, JOURNAL_DIR)).list();
  // The key never leaves the journal, not even in --json.
  report.transfers = records.map(({ key: _key, id: _id, ...r }) => r);
  if (!settings) return report;

  const agent = createAgent(settings.helperUrl);
  try {
    const api = new HelperApi(settings.helperUrl, { agent, token: settings.token, retry: { attempts: 0, baseMs: 0, maxMs: 0 }, timeoutMs: 10_000 }) // a loaded helper is slow, not down;
    report.helper = { url: api.base, reachable: false };
    try {
      report.helper.info = await api.info();
      report.helper.reachable = true;
    } catch (err) {
      report.helper.error = (err as Error).message;
      if (err instanceof HelperError && (err.status === 401 || err.status === 403)) {
        report.helper.reachable = true;
        report.helper.refused = true;
        report.problems.push('the helper refused the client token');
      } else report.problems.push('the helper is unreachable');
      return report;
    }
    const { servers, reachableServers, defaults } = report.helper.info;
    const up = reachableServers ?? servers;
    if (up < defaults.happy) report.problems.push(`${up} of ${servers} storage servers reachable; uploads need ${defaults.happy} (happy)`);
    for (const t of report.transfers) {
      if (!t.storageIndex || t.helperUrl !== api.base) continue;
      try {
        const { state, received, segmentsEncoded, lastError, permanent } = await api.job(t.storageIndex);
        t.job = { state, received, segmentsEncoded, ...(lastError ? { lastError } : {}), ...(permanent ? { permanent } : {}) };
      } catch {
        /* the helper does not know it (yet): nothing to add */
      }
    }
  } finally {
    await agent.destroy();
  }
  return report;
}

function print(r: StatusReport): void {
  const out: string[] = [];
  out.push(`home:      ${r.home ?? '(none: pass --home DIR or set FERRY_HOME)'}`);
  out.push(`state dir: ${r.stateDir}`);
  if (r.grid) out.push(`grid:      ${r.grid.running ? `running (pid ${r.grid.pid}), ${r.grid.storage.length} storage servers` : 'not running (stale grid.json)'}`);
  else if (r.home) out.push('grid:      not running from this home');
  if (!r.helper) out.push('helper:    not configured');
  else if (r.helper.reachable && r.helper.info) {
    const i = r.helper.info;
    out.push(`helper:    ${r.helper.url}: up, ${i.reachableServers ?? '?'} of ${i.servers} storage servers reachable, defaults k=${i.defaults.k} n=${i.defaults.n} happy=${i.defaults.happy} segment ${formatSize(i.defaults.maxSegmentSize)}`);
  } else if (r.helper.refused) out.push(`helper:    ${r.helper.url}: up, but it refused the client token (check --token, FERRY_TOKEN or client.json)`);
  else out.push(`helper:    ${r.helper.url}: unreachable (${r.helper.error})`);
  const finished = r.transfers.filter((t) => t.job?.state === 'done');
  const unfinished = r.transfers.filter((t) => t.job?.state !== 'done');
  out.push(`unfinished transfers: ${unfinished.length}`);
  for (const t of finished) out.push(`  ${t.file.path}: stored (the helper finished it); ferry put ${t.file.path} prints its cap`);
  for (const t of unfinished) {
    const job = t.job ? `; helper: ${t.job.state}, ${formatSize(t.job.received)} received${t.job.lastError ? `, last error: ${t.job.lastError}` : ''}` : '';
    out.push(`  ${t.file.path}  ${formatSize(t.file.size)}  ${t.state}${t.storageIndex ? `  si ${t.storageIndex}` : ''}${job}${t.lastError ? `\n    last error: ${t.lastError}` : ''}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

/** `ferry status`: grid, helper and unfinished transfers of this client. */
export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('show the grid, the helper and unfinished transfers (resume one with ferry put FILE); exits 1 when the helper is unreachable, refuses the token, or has fewer storage servers up than happy')
    .option('--json', 'machine-readable output')
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      const report = await gather(cmd);
      if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else print(report);
      // Scripts and monitors: exit 1, with the reason as the one error line.
      if (report.problems.length) throw new Error(`not healthy: ${report.problems.join('; ')}`);
    });
}
