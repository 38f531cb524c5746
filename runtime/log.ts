/**
 * Process logging with pino: JSON lines in production (one object per line
 * on stdout), readable colourised lines when stdout is a terminal.
 */
import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import type prettyFactory from 'pino-pretty';
import { z } from 'zod';

export type { Logger } from 'pino';

export interface CreateLoggerOptions {
  /** Component name, shown on every line (`name` field). */
  name: string;
  /** Minimum level (default `info`, or `FERRY_LOG_LEVEL` when set). `silent` disables output. */
  level?: LogLevel;
  /** Force pretty (true) or JSON (false) output; default: pretty iff stdout is a TTY. */
  pretty?: boolean;
  /** Where JSON lines go (default stdout). Pretty output always goes to stdout. */
  destination?: NodeJS.WritableStream;
}

/** Fields of runtime/http/request-log.ts lines, repeated in their message. */
const REQUEST_FIELDS = ['method', 'path', 'status', 'bytesIn', 'bytesOut', 'ms', 'aborted'];

/** The levels every `--log-level` flag, `logLevel` config key and FERRY_LOG_LEVEL accept (pino's, most severe first). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The zod schema of a level, for config files. */
export const LogLevelSchema = z.enum(LOG_LEVELS);

/** Parses a level given as text; throws a one-line error naming the accepted ones. */
export function parseLogLevel(value: string): LogLevel {
  const parsed = LogLevelSchema.safeParse(value);
  if (!parsed.success) throw new Error(`log level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(value)}`);
  return parsed.data;
}

function defaultLevel(): LogLevel {
  const env = process.env.FERRY_LOG_LEVEL?.toLowerCase();
  const parsed = LogLevelSchema.safeParse(env);
  return parsed.success ? parsed.data : 'info';
}

export function createLogger(options: CreateLoggerOptions): Logger {
  const level = options.level ?? defaultLevel();
  const base = { name: options.name, level };
  if (level === 'silent') return pino({ ...base, enabled: false });
  const usePretty = options.pretty ?? Boolean(process.stdout.isTTY);
  if (usePretty) {
    // Required here, not imported: a service logging JSON (not a terminal) never loads it (~2 MiB of heap).
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof prettyFactory;
    return pino(
      base,
      pretty({
        colorize: true,
        sync: true,
        singleLine: true,
        translateTime: 'SYS:HH:MM:ss.l',
        // The request log's fields are all in its message already.
        ignore: `pid,hostname,${REQUEST_FIELDS.join(',')}`,
      }),
    );
  }
  return pino(base, options.destination ?? process.stdout);
}

/** A logger that discards everything (the default in libraries and tests). */
export function silentLogger(): Logger {
  return pino({ enabled: false, level: 'silent' });
}
