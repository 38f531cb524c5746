/**
 * Server addresses. A pinned address names the server and the key it must
 * present: `https://host:port/#spki=<pin>` (docs/protocol.md, "Pinned
 * addresses"); during a key rotation it may name two, `#spki=<new>,<old>`.
 * The fragment never goes on the wire: requests go to the address without it.
 */
import { isIP } from 'node:net';
import { FerryError } from '../../core/errors.js';
import { PIN_PATTERN } from './pin.js';

export interface ServerAddress {
  /** The address without its fragment, without a trailing slash: requests go to `${base}/…`. */
  base: string;
  url: URL;
  /** Accepted key pins; undefined = verify the certificate the normal way (CA + host name). */
  pins: string[] | undefined;
}

/** Parses `http(s)://host:port[/path][#spki=pin[,pin]]`; throws INVALID_PARAMETERS naming `what`. */
export function parseServerAddress(text: string, what = 'server address'): ServerAddress {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new FerryError('INVALID_PARAMETERS', `${what} ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FerryError('INVALID_PARAMETERS', `${what} must be http(s)://…, got ${JSON.stringify(text)}`);
  let pins: string[] | undefined;
  if (url.hash) {
    const m = /^#spki=([^&]*)$/.exec(url.hash);
    pins = m?.[1]?.split(',');
    if (!pins || !pins.every((p) => PIN_PATTERN.test(p))) {
      throw new FerryError('INVALID_PARAMETERS', `${what} ${JSON.stringify(text)}: the fragment must be #spki=<52 base32 characters>[,<another>]`);
    }
    if (url.protocol !== 'https:') throw new FerryError('INVALID_PARAMETERS', `${what} ${JSON.stringify(text)}: a key pin needs https://`);
  }
  url.hash = '';
  return { base: url.href.replace(/\/+$/, ''), url, pins };
}

/** `https://host:port/#spki=pin[,pin]`: what a storage server prints and an operator copies. */
export function formatPinnedAddress(origin: string, pins: readonly string[]): string {
  return `${origin.replace(/\/+$/, '')}/#spki=${pins.join(',')}`;
}

/** localhost, 127.0.0.0/8 and ::1: hosts whose traffic never leaves the machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || bare === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(bare);
  return false;
}

/**
 * Refuses `http://` to a host off this machine: a token or a read-cap sent
 * there crosses the network in clear. `allowInsecureHttp` is the operator's
 * explicit, deliberately named way out (a trusted private link).
 */
export function assertSecureTransport(address: ServerAddress, o: { what: string; allowInsecureHttp?: boolean; setting?: string }): void {
  if (address.url.protocol === 'https:' || o.allowInsecureHttp || isLoopbackHost(address.url.hostname)) return;
  throw new FerryError(
    'INVALID_PARAMETERS',
    `refusing plain http to ${o.what} ${address.base}: it is not a loopback address, so tokens and read-caps would cross the network unencrypted; ` +
      `use its https:// address (with #spki=<pin> for a self-signed server), or set ${o.setting ?? 'allowInsecureHttp'} if this link is trusted`,
  );
}
