/**
 * undici connection options for an address: a pinned address gets a
 * connector that checks the peer's key pin on every new connection, after
 * the TLS handshake and before undici writes a byte of a request; any other
 * https address gets normal verification (CA + host name), http none.
 */
import type { TLSSocket } from 'node:tls';
import { buildConnector, type Client } from 'undici';
import { FerryError } from '../../core/errors.js';
import type { ServerAddress } from './address.js';
import { spkiPin } from './pin.js';

export class PinMismatchError extends FerryError {
  constructor(
    readonly host: string,
    readonly expected: readonly string[],
    readonly presented: string,
  ) {
    super('UPSTREAM_ERROR', `${host} presented a key with pin ${presented}, but its address pins ${expected.join(' or ')}: refusing the connection (a different server, or its key was rotated)`, {
      details: { expectedPins: [...expected], presentedPin: presented },
    });
    this.name = 'PinMismatchError';
  }
}

/**
 * A connector that accepts exactly the keys in `pins`. The CA chain, host
 * name and dates are not checked: the pin says which key is right. TLS
 * session resumption is off so that every connection shows its certificate.
 */
export function pinnedConnector(pins: readonly string[], o: { timeoutMs?: number } = {}): buildConnector.connector {
  const connect = buildConnector({ rejectUnauthorized: false, maxCachedSessions: 0, ...(o.timeoutMs === undefined ? {} : { timeout: o.timeoutMs }) });
  return (options, callback) => {
    connect(options, (err, socket) => {
      if (err || !socket) {
        callback(err ?? new Error('no socket'), null);
        return;
      }
      const cert = (socket as TLSSocket).getPeerX509Certificate?.();
      const presented = cert ? spkiPin(cert) : 'none (no certificate)';
      if (pins.includes(presented)) {
        callback(null, socket);
        return;
      }
      socket.destroy();
      callback(new PinMismatchError(`${options.hostname}:${options.port}`, pins, presented), null);
    });
  };
}

/** The `connect` option of an undici Pool/Agent/Client for `address` (undefined: undici's defaults). */
export function connectOptions(address: Pick<ServerAddress, 'pins'>, o: { timeoutMs?: number } = {}): Client.Options['connect'] {
  if (address.pins) return pinnedConnector(address.pins, o);
  return o.timeoutMs === undefined ? undefined : { timeout: o.timeoutMs };
}
