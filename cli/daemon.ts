/**
 * What the long-running commands (`ferry helper`, `ferry storage`, `ferry
 * grid`) share: the --log-level flag, the config file, the line that says
 * they serve, and the shutdown on SIGINT/SIGTERM.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { ConfigFileError, loadConfigFile, type LoadConfigFileOptions } from '../runtime/config-file.js';
import { createLogger, LOG_LEVELS, parseLogLevel, type Logger, type LogLevel } from '../runtime/log.js';
import { untilSignal } from '../runtime/signals.js';
import { UsageError } from './usage.js';

/** Adds `--log-level <level>`; a level not in the list is a usage error (exit 2). */
export function logLevelOption(command: Command, defaultText: string): Command {
  return command.option('--log-level <level>', `${LOG_LEVELS.join(', ')} (default ${defaultText})`, (value: string): LogLevel => {
    try {
      return parseLogLevel(value);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  });
}

/** A daemon's logger: `level` from the flag or config, else FERRY_LOG_LEVEL, else info. */
export function daemonLogger(name: string, level: LogLevel | undefined): Logger {
  return createLogger({ name: `ferry-${name}`, level });
}

/** Loads a config file; a bad one is a usage error with one line naming the file and the field. */
export async function readConfigFile<T>(file: string, options: LoadConfigFileOptions<T>): Promise<T> {
  try {
    return await loadConfigFile(file, options);
  } catch (err) {
    if (err instanceof ConfigFileError) throw new UsageError(err.message);
    throw err;
  }
}

/** A listener that could not bind: one line that says which port and what to do, instead of a raw EADDRINUSE. */
export async function withPortHint<T>(what: string, host: string, port: number | string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`port ${port} on ${host} is in use (another ferry ${what}?); pick another with --port (0 picks a free one)`, { cause: err });
    if (code === 'EACCES') throw new Error(`no permission to listen on port ${port} on ${host}; pick a port above 1023 with --port`, { cause: err });
    throw err;
  }
}

/** `ferry NAME: listening on URL (details)`: the line scripts and tests wait for. */
export function listeningLine(name: string, url: string, details: string): string {
  return `ferry ${name}: listening on ${url} (${details})`;
}

export interface Serving {
  /** `ferry NAME: ...` in the shutdown line. */
  name: string;
  /** Printed once serving (first line: see listeningLine). */
  banner: string;
  /** Said after "shutting down", e.g. what resumes at the next start. */
  shutdownNote?: string;
  close(): Promise<void>;
}

/** Prints the banner, waits for SIGINT/SIGTERM, closes (a second signal exits at once). */
export async function serveUntilSignal(serving: Serving): Promise<void> {
  console.log(serving.banner);
  const signal = await untilSignal();
  console.log(`ferry ${serving.name}: ${signal}, shutting down${serving.shutdownNote ? ` (${serving.shutdownNote})` : ''}`);
  await serving.close();
}
