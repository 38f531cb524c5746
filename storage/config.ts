/**
 * Configuration of `ferry storage`: command-line flags over an optional JSON
 * config file (same keys, camelCase). Relative paths in the file are
 * relative to the file. Documented in docs/operations.md.
 */
import path from 'node:path';
import { z } from 'zod';
import { loadConfigFile } from '../runtime/config-file.js';
import { parseDuration } from '../runtime/duration.js';
import { LogLevelSchema, parseLogLevel, type LogLevel } from '../runtime/log.js';
import { parseSize } from '../runtime/size.js';
import { TlsSetting } from '../runtime/tls/setting.js';
import { DAY_MS, DEFAULT_MAX_SHARE_SIZE } from './store/disk-store.js';
import { DEFAULT_MAX_WRITE_SIZE } from './server.js';

const SizeValue = z.union([z.string(), z.number()]);
const DurationValue = z.union([z.string(), z.number()]);

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
  logLevel: LogLevelSchema.optional(),
  /** { cert, key } files, true (self-signed, kept in DIR/tls; the default) or false (plain http, loopback binds only). */
  tls: TlsSetting.optional(),
  allowInsecureHttp: z.boolean().optional(),
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
  tlsCert?: string;
  tlsKey?: string;
  /** commander's --no-tls: false. */
  tls?: boolean;
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
  logLevel: LogLevel | undefined;
  tls: TlsSetting;
  allowInsecureHttp: boolean;
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

/** Reads the JSON config file; `dir`, `tokenFile` and `tls` files in it are relative to the file. */
export async function loadStorageConfigFile(file: string): Promise<StorageConfigFile> {
  const c = await loadConfigFile(file, { schema: StorageConfigFile, label: 'storage', pathKeys: ['dir', 'tokenFile'] });
  if (typeof c.tls !== 'object') return c;
  const base = path.dirname(path.resolve(file));
  return { ...c, tls: { cert: path.resolve(base, c.tls.cert), key: path.resolve(base, c.tls.key) } };
}

/** Merges flags over the config file over defaults, and validates the result. */
export async function resolveStorageConfig(flags: StorageFlags): Promise<StorageConfig> {
  const file = flags.config === undefined ? {} : await loadStorageConfigFile(flags.config);
  const dir = flags.dir ?? file.dir;
  if (!dir) throw new Error('a data directory is required (--dir DIR, or "dir" in the config file)');
  const port = flags.port ?? file.port;
  if (port === undefined) throw new Error('a port is required (--port PORT, or "port" in the config file; 0 picks a free one)');
  const logLevel = flags.logLevel ?? file.logLevel;
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
    logLevel: logLevel === undefined ? undefined : parseLogLevel(logLevel),
    tls: tlsSetting(flags, file.tls),
    allowInsecureHttp: file.allowInsecureHttp ?? false,
  };
}

function tlsSetting(flags: StorageFlags, file: TlsSetting | undefined): TlsSetting {
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) throw new Error('--tls-cert and --tls-key go together');
  if (flags.tlsCert !== undefined && flags.tlsKey !== undefined) return { cert: path.resolve(flags.tlsCert), key: path.resolve(flags.tlsKey) };
  if (flags.tls === false) return false;
  return file ?? true;
}
