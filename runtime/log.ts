/**
 * Process logging with pino: JSON lines in production (one object per line
 * on stdout), readable colourised lines when stdout is a terminal.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

export interface CreateLoggerOptions {
  /** Component name, shown on every line (`name` field). */
  name: string;
  /** Minimum level (default `info`, or `FERRY_LOG_LEVEL` when set). `silent` disables output. */
  level?: LevelWithSilent;
  /** Force pretty (true) or JSON (false) output; default: pretty iff stdout is a TTY. */
  pretty?: boolean;
  /** Where JSON lines go (default stdout). Pretty output always goes to stdout. */
  destination?: NodeJS.WritableStream;
}

/** Fields of runtime/http/request-log.ts lines, repeated in their message. */
const REQUEST_FIELDS = ['method', 'path', 'status', 'bytesIn', 'bytesOut', 'ms', 'aborted'];

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

function defaultLevel(): LevelWithSilent {
  const env = process.env.FERRY_LOG_LEVEL?.toLowerCase();
  return env && LEVELS.has(env) ? (env as LevelWithSilent) : 'info';
}

export function createLogger(options: CreateLoggerOptions): Logger {
  const level = options.level ?? defaultLevel();
  const base = { name: options.name, level };
  if (level === 'silent') return pino({ ...base, enabled: false });
  const usePretty = options.pretty ?? Boolean(process.stdout.isTTY);
  if (usePretty) {
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
