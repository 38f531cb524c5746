import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../runtime/duration.js';
import { parseSize } from '../runtime/size.js';

/** A mistake in how ferry was invoked: exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Commander argument parsers: a bad value is a usage error (exit 2) with one clear line. */
export function intOption(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new InvalidArgumentError(`must be an integer ${min}..${max}`);
    return Number(value);
  };
}

export function sizeOption(value: string): number {
  try {
    return parseSize(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** A duration flag: `30s`, `2m`, `500ms`; a bare number is seconds (said in each flag's help). */
export function durationOption(value: string): number {
  try {
    return /^\s*\d+(\.\d+)?\s*$/.test(value) ? parseDuration(`${value.trim()}s`) : parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** Options every client command shares (defined on the program). */
export interface GlobalFlags {
  home?: string;
  helper?: string;
  token?: string;
  stateDir?: string;
  debug?: boolean;
}
