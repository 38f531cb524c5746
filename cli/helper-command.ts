import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ZodError } from 'zod';
import { createLogger } from '../runtime/log.js';
import { parseHelperConfig, type HelperConfig } from '../helper/config.js';
import { startHelper } from '../helper/start.js';
import { untilSignal } from './signals.js';
import { intOption, UsageError } from './usage.js';

interface HelperFlags {
  config: string;
  port?: number;
  host?: string;
  dataDir?: string;
  logLevel?: string;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Reads the JSON config; flags override single keys; relative dataDir is relative to the file. */
export async function loadHelperConfig(flags: HelperFlags): Promise<HelperConfig> {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await fs.readFile(flags.config, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new UsageError(`cannot read helper config ${flags.config}: ${(err as Error).message}`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new UsageError(`${flags.config} must hold a JSON object`);
  const base = path.dirname(path.resolve(flags.config));
  const merged: Record<string, unknown> = {
    ...json,
    ...(flags.port !== undefined ? { port: flags.port } : {}),
    ...(flags.host !== undefined ? { host: flags.host } : {}),
    ...(flags.dataDir !== undefined ? { dataDir: path.resolve(flags.dataDir) } : {}),
  };
  if (flags.dataDir === undefined && typeof merged.dataDir === 'string') merged.dataDir = path.resolve(base, merged.dataDir);
  try {
    return parseHelperConfig(merged);
  } catch (err) {
    if (err instanceof ZodError) {
      const issue = err.issues[0];
      throw new UsageError(`helper config ${flags.config}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    throw new UsageError(`helper config ${flags.config}: ${(err as Error).message}`);
  }
}

/** `ferry helper --config FILE`: runs the upload helper until SIGINT/SIGTERM. */
export function registerHelperCommand(program: Command): void {
  program
    .command('helper')
    .description('run the upload helper (client API under /helper/v1)')
    .requiredOption('--config <file>', 'JSON config file (see docs/operations.md, "Helper")')
    .option('--port <port>', 'TCP port (overrides "port"; 0 picks a free one)', intOption(0, 65535))
    .option('--host <host>', 'interface to listen on (overrides "host")')
    .option('--data-dir <dir>', 'data directory (overrides "dataDir")')
    .option('--log-level <level>', `${LEVELS.join(', ')} (default info, or FERRY_LOG_LEVEL)`)
    .action(async (flags: HelperFlags) => {
      if (flags.logLevel !== undefined && !(LEVELS as readonly string[]).includes(flags.logLevel)) throw new UsageError(`--log-level must be one of ${LEVELS.join(', ')}`);
      const config = await loadHelperConfig(flags);
      const log = createLogger({ name: 'ferry-helper', level: flags.logLevel as (typeof LEVELS)[number] | undefined });
      const helper = await startHelper(config, { log });
      console.log(`ferry helper: listening on ${helper.url}/helper/v1 (data in ${config.dataDir}, ${config.storageServers.length} storage servers)`);
      const signal = await untilSignal();
      console.log(`ferry helper: ${signal}, shutting down (unfinished jobs resume at the next start)`);
      await helper.close();
    });
}
