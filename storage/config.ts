/**
 * Configuration of `ferry storage`: command-line flags over an optional JSON
 * config file (same keys, camelCase). Relative paths in the file are
 * relative to the file. Documented in docs/operations.md.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseDuration } from '../runtime/duration.js';
import { parseSize } from '../runtime/size.js';
import { DAY_MS, DEFAULT_MAX_SHARE_SIZE } from './store/disk-store.js';
import { DEFAULT_MAX_WRITE_SIZE } from './server.js';

const SizeValue = z.union([z.string(), z.number()]);
const DurationValue = z.union([z.string(), z.number()]);
const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export const StorageConfigFile = z.strictObject({
  dir: z.string().min(1).optional(),
  port: z.number().int().min(0).max(65535).optional(),
  host: z.string().min(1).optional(),
  tokenFile: z.string().min(1).optional(),
  reservedSpace: SizeValue.optional(),
  maxShareSize: SizeValue.optional(),
  maxWriteSize: SizeValue.optional(),
  partialIdle: DurationValue.optional(),
  leaseDuration: DurationValue.optional(),
  sweepInterval: DurationValue.optional(),
  logLevel: LogLevel.optional(),
});
export type StorageConfigFile = z.infer<typeof StorageConfigFile>;

/** Flags as commander hands them over (all strings). */
export interface StorageFlags {
  dir?: string;
  port?: string;
  host?: string;
  tokenFile?: string;
  reservedSpace?: string;
  maxShareSize?: string;
  logLevel?: string;
  config?: string;
}

export interface StorageConfig {
  dir: string;
  port: number;
  host: string;
  tokenFile: string | undefined;
  reservedSpace: number;
  maxShareSize: number;
  maxWriteSize: number;
  partialIdleMs: number;
  defaultLeaseMs: number;
  sweepIntervalMs: number;
  logLevel: z.infer<typeof LogLevel> | undefined;
}

function convert<T>(what: string, value: string | number, parse: (v: string | number) => T): T {
  try {
    return parse(value);
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`);
  }
}

function parsePort(value: string | number): number {
  const n = typeof value === 'number' ? value : /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`port must be an integer 0..65535, got ${JSON.stringify(value)}`);
  return n;
}

export async function loadConfigFile(file: string): Promise<StorageConfigFile> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = StorageConfigFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`config file ${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const base = path.dirname(path.resolve(file));
  const cfg = parsed.data;
  return {
    ...cfg,
    ...(cfg.dir === undefined ? {} : { dir: path.resolve(base, cfg.dir) }),
    ...(cfg.tokenFile === undefined ? {} : { tokenFile: path.resolve(base, cfg.tokenFile) }),
  };
}

/** Merges flags over the config file over defaults, and validates the result. */
export async function resolveStorageConfig(flags: StorageFlags): Promise<StorageConfig> {
  const file = flags.config === undefined ? {} : await loadConfigFile(flags.config);
  const dir = flags.dir ?? file.dir;
  if (!dir) throw new Error('a data directory is required (--dir DIR, or "dir" in the config file)');
  const port = flags.port ?? file.port;
  if (port === undefined) throw new Error('a port is required (--port PORT, or "port" in the config file; 0 picks a free one)');
  const logLevel = flags.logLevel ?? file.logLevel;
  const parsedLevel = logLevel === undefined ? undefined : LogLevel.safeParse(logLevel);
  if (parsedLevel && !parsedLevel.success) throw new Error(`log level must be one of ${LogLevel.options.join(', ')}`);
  const maxWriteSize = convert('maxWriteSize', file.maxWriteSize ?? DEFAULT_MAX_WRITE_SIZE, parseSize);
  const maxShareSize = convert('max share size', flags.maxShareSize ?? file.maxShareSize ?? DEFAULT_MAX_SHARE_SIZE, parseSize);
  if (maxWriteSize < 1 || maxShareSize < 1) throw new Error('maxShareSize and maxWriteSize must be at least 1 byte');
  return {
    dir: path.resolve(dir),
    port: convert('port', port, parsePort),
    host: flags.host ?? file.host ?? '127.0.0.1',
    tokenFile: flags.tokenFile !== undefined ? path.resolve(flags.tokenFile) : file.tokenFile,
    reservedSpace: convert('reserved space', flags.reservedSpace ?? file.reservedSpace ?? 0, parseSize),
    maxShareSize,
    maxWriteSize,
    partialIdleMs: convert('partialIdle', file.partialIdle ?? 7 * DAY_MS, parseDuration),
    defaultLeaseMs: convert('leaseDuration', file.leaseDuration ?? 31 * DAY_MS, parseDuration),
    sweepIntervalMs: Math.max(1000, convert('sweepInterval', file.sweepInterval ?? 3_600_000, parseDuration)),
    logLevel: parsedLevel?.data,
  };
}
