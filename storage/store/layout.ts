/**
 * Where things live under the server's directory. Every path is built from a
 * storage index that passed parseStorageIndex (26 chars of [a-z2-7]) and a
 * share number 0..255, so no request can name a path outside the directory.
 *
 *   DIR/server-id                      this server's stable id
 *   DIR/shares/<si[0:2]>/<si>/<shnum>  complete shares (immutable)
 *   DIR/incoming/<si>/<shnum>          partial share data (sparse)
 *   DIR/incoming/<si>/<shnum>.json     its sidecar: size, received intervals, times
 *   DIR/leases/<si[0:2]>/<si>.json     lease on a storage index
 *   DIR/corruption/<time>-<si>-<shnum>-<rand>.json   corruption reports
 */
import path from 'node:path';
import { FormatError } from '../../core/errors.js';
import { MAX_SHARES } from '../../core/params.js';
import { parseStorageIndex } from '../../core/storage-index.js';

export function checkShareNumber(shnum: number): number {
  if (!Number.isInteger(shnum) || shnum < 0 || shnum >= MAX_SHARES) {
    throw new FormatError('INVALID_SHARE_NUMBER', `share number must be an integer 0..${MAX_SHARES - 1}, got ${shnum}`);
  }
  return shnum;
}

function checkSi(si: string): string {
  parseStorageIndex(si);
  return si;
}

export class Layout {
  readonly root: string;
  readonly sharesRoot: string;
  readonly incomingRoot: string;
  readonly leasesRoot: string;
  readonly corruptionDir: string;
  readonly serverIdPath: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.sharesRoot = path.join(this.root, 'shares');
    this.incomingRoot = path.join(this.root, 'incoming');
    this.leasesRoot = path.join(this.root, 'leases');
    this.corruptionDir = path.join(this.root, 'corruption');
    this.serverIdPath = path.join(this.root, 'server-id');
  }

  shareDir(si: string): string {
    return path.join(this.sharesRoot, checkSi(si).slice(0, 2), si);
  }

  sharePath(si: string, shnum: number): string {
    return path.join(this.shareDir(si), String(checkShareNumber(shnum)));
  }

  incomingDir(si: string): string {
    return path.join(this.incomingRoot, checkSi(si));
  }

  partialPath(si: string, shnum: number): string {
    return path.join(this.incomingDir(si), String(checkShareNumber(shnum)));
  }

  sidecarPath(si: string, shnum: number): string {
    return `${this.partialPath(si, shnum)}.json`;
  }

  leasePath(si: string): string {
    return path.join(this.leasesRoot, checkSi(si).slice(0, 2), `${si}.json`);
  }
}

/** Parses a share file name (`0`..`255`, canonical decimal); undefined for anything else. */
export function shareNumberFromName(name: string): number | undefined {
  if (!/^(0|[1-9]\d{0,2})$/.test(name)) return undefined;
  const n = Number(name);
  return n < MAX_SHARES ? n : undefined;
}
