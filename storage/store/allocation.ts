/** Allocation policy: what a request may ask for, and the refusal when it does not fit. */
import { FerryError } from '../../core/errors.js';
import { formatSize } from '../../runtime/size.js';
import { checkShareNumber } from './layout.js';
import type { SpaceInfo } from './types.js';

/** Validates size and share numbers; returns the share numbers ascending. */
export function checkAllocation(shareSize: number, shareNumbers: readonly number[], maxShareSize: number): number[] {
  if (!Number.isSafeInteger(shareSize) || shareSize < 1) {
    throw new FerryError('INVALID_PARAMETERS', `share size must be a positive integer, got ${shareSize}`);
  }
  if (shareSize > maxShareSize) {
    throw new FerryError('PAYLOAD_TOO_LARGE', `share size ${shareSize} exceeds this server's maximum share size ${maxShareSize}`, {
      details: { maximumShareSize: maxShareSize },
    });
  }
  const shnums = [...shareNumbers].sort((a, b) => a - b);
  if (shnums.length === 0) throw new FerryError('INVALID_SHARE_NUMBER', 'no share numbers given');
  for (let i = 0; i < shnums.length; i++) {
    checkShareNumber(shnums[i]);
    if (i > 0 && shnums[i] === shnums[i - 1]) throw new FerryError('INVALID_SHARE_NUMBER', `share number ${shnums[i]} is listed twice`);
  }
  return shnums;
}

/** Throws INSUFFICIENT_STORAGE unless `count` new shares of `shareSize` fit into `space`. */
export function checkSpace(count: number, shareSize: number, space: SpaceInfo): void {
  const needed = count * shareSize;
  if (needed <= space.available) return;
  throw new FerryError(
    'INSUFFICIENT_STORAGE',
    `not enough space: ${count} share(s) of ${formatSize(shareSize)} need ${formatSize(needed)}, ` +
      `but only ${formatSize(space.available)} is available (free ${formatSize(space.free)}, reserved ${formatSize(space.reserved)}, ` +
      `promised to uploads in progress ${formatSize(space.outstanding)})`,
    { details: { needed, available: space.available } },
  );
}
