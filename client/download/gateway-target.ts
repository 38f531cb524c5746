/**
 * Where a download goes, and whether the client token may go with it.
 *
 * `ferry get` takes a read-cap (fetched from the configured helper's gateway)
 * or a cap URL (`http(s)://host[:port][/prefix]/uri/<read-cap>`, what a
 * gateway's link looks like). A cap URL can point anywhere, so the client
 * token goes only to the configured helper's origin (scheme, host and port);
 * any other gateway gets the capability alone.
 */
import { parseReadCap, type ReadCap } from '../../core/capability.js';
import { helperBase } from '../http.js';
import { FerryError } from '../../core/errors.js';

export interface GatewayTarget {
  cap: string;
  readCap: ReadCap;
  /** The GET URL: the gateway's `/uri/<percent-encoded cap>`. */
  url: string;
  /** The gateway's origin, for messages. */
  origin: string;
  /** True only when the gateway is the configured helper: the token may be sent there. */
  configured: boolean;
}

const CAP_URL = /^https?:\/\//i;

export function isCapUrl(text: string): boolean {
  return CAP_URL.test(text);
}

/** Parses a read-cap or a cap URL against the configured helper URL; throws INVALID_CAPABILITY on anything else. */
export function gatewayTarget(capOrUrl: string, helperUrl: string): GatewayTarget {
  const helperOrigin = new URL(helperBase(helperUrl)).origin;
  if (!isCapUrl(capOrUrl)) {
    const readCap = parseReadCap(capOrUrl);
    const base = helperBase(helperUrl);
    return { cap: capOrUrl, readCap, url: `${base}/uri/${encodeURIComponent(capOrUrl)}`, origin: helperOrigin, configured: true };
  }
  let u: URL;
  try {
    u = new URL(capOrUrl);
  } catch {
    throw new FerryError('INVALID_CAPABILITY', `not a cap URL: ${JSON.stringify(capOrUrl)}`);
  }
  const at = u.pathname.lastIndexOf('/uri/');
  if (at < 0 || u.username || u.password) throw new FerryError('INVALID_CAPABILITY', 'a cap URL looks like http(s)://host/uri/ferry-chk:... (no user or password)');
  let cap: string;
  try {
    cap = decodeURIComponent(u.pathname.slice(at + '/uri/'.length));
  } catch {
    throw new FerryError('INVALID_CAPABILITY', 'the cap URL has a malformed percent-encoding');
  }
  const readCap = parseReadCap(cap);
  const url = `${u.origin}${u.pathname.slice(0, at)}/uri/${encodeURIComponent(cap)}`;
  return { cap, readCap, url, origin: u.origin, configured: u.origin === helperOrigin };
}
