/**
 * The one loader for JSON config files (`ferry helper --config`, `ferry
 * storage --config`): read, parse, resolve relative paths against the
 * file's directory, apply overrides (flags), validate. Every failure is a
 * ConfigFileError whose message is one line naming the file and the field.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ZodError } from 'zod';

/** A config file that cannot be read, parsed or validated. */
export class ConfigFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ConfigFileError';
  }
}

export interface LoadConfigFileOptions<T> {
  /** Validates the merged object: a zod schema, or anything with a `parse` that throws (ZodError or Error). */
  schema: { parse(input: unknown): T };
  /** Names the file in messages: `<label> config file <file>: ...` (e.g. "helper"). */
  label: string;
  /** Top-level keys holding paths; relative ones are resolved against the file's directory. */
  pathKeys?: readonly string[];
  /** Keys set from elsewhere (command-line flags) that win over the file; undefined values are ignored. */
  overrides?: Record<string, unknown>;
}

/** Where a zod issue points, as a dotted path (`limits.spoolIdle`, `clientTokens.0`). */
function fieldOf(err: ZodError): string {
  const issue = err.issues[0];
  return `${issue?.path.map(String).join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`;
}

export async function loadConfigFile<T>(file: string, options: LoadConfigFileOptions<T>): Promise<T> {
  const what = `${options.label} config file ${file}`;
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigFileError(file, `cannot read ${what}: ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigFileError(file, `${what} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ConfigFileError(file, `${what} must hold a JSON object`);
  const base = path.dirname(path.resolve(file));
  const merged: Record<string, unknown> = { ...(json as Record<string, unknown>) };
  for (const key of options.pathKeys ?? []) {
    if (typeof merged[key] === 'string') merged[key] = path.resolve(base, merged[key]);
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) if (value !== undefined) merged[key] = value;
  try {
    return options.schema.parse(merged);
  } catch (err) {
    const why = err instanceof ZodError ? fieldOf(err) : (err as Error).message;
    throw new ConfigFileError(file, `${what}: ${why}`, { cause: err });
  }
}
