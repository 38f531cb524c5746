import { statfs } from 'node:fs/promises';
import type { HelperConfig } from '../config.js';

/** The holding limits as numbers: the config's, or the defaults worked out at start. */
export interface HoldingLimits {
  holdingQuota: number;
  holdingPerToken: number;
}

export type ResolvedHelperConfig = HelperConfig & { limits: HelperConfig['limits'] & HoldingLimits };

/** Bytes an unprivileged process may still write on the file system of `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/**
 * Fills in the holding limits the config leaves out. The quota defaults to
 * `holdingQuotaFraction` of the holding dir's free disk at start, so a helper
 * refuses uploads with a clear 507 before its disk is full instead of after.
 * One token may then reserve half of it, or all of it when it is the only
 * client token. An explicit 0 still means "no limit".
 */
export async function resolveHoldingLimits(config: HelperConfig, holdingDir: string, free: (dir: string) => Promise<number> = freeBytes): Promise<ResolvedHelperConfig> {
  const l = config.limits;
  const holdingQuota = l.holdingQuota ?? Math.max(1, Math.floor((await free(holdingDir)) * l.holdingQuotaFraction));
  const holdingPerToken = l.holdingPerToken ?? (config.clientTokens.length > 1 ? Math.ceil(holdingQuota / 2) : holdingQuota);
  return { ...config, limits: { ...l, holdingQuota, holdingPerToken } };
}
