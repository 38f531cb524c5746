import type { Command } from 'commander';
import { isFerryError } from '../core/errors.js';
import { resolveClientSettings, type ClientSettings } from '../client/config.js';
import { UsageError, type GlobalFlags } from './usage.js';

/** Helper URL, token and state dir from the global flags; a missing helper is a usage error. */
export async function clientSettings(cmd: Command, needToken = true): Promise<ClientSettings & { debug: boolean }> {
  const g = cmd.optsWithGlobals<GlobalFlags>();
  try {
    const s = await resolveClientSettings({ home: g.home, helper: g.helper, token: g.token, stateDir: g.stateDir }, process.env, process.cwd(), needToken);
    return { ...s, debug: Boolean(g.debug) };
  } catch (err) {
    if (isFerryError(err) && err.code === 'INVALID_PARAMETERS') throw new UsageError(err.message);
    throw err;
  }
}
