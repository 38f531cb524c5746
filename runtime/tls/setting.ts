/**
 * The `tls` setting of a listener (helper, admin, storage server):
 * `{ "cert": FILE, "key": FILE }` serves the operator's certificate; `true`
 * a self-signed one kept in the data dir; `false` plain HTTP, which only a
 * loopback bind may have (or an operator who set allowInsecureHttp).
 * Unset: `defaultOn` decides, and a non-loopback bind always gets TLS.
 */
import { z } from 'zod';
import { FerryError } from '../../core/errors.js';
import { isLoopbackHost } from './address.js';
import { loadOrCreateIdentity, type TlsIdentity } from './identity.js';

export const TlsSetting = z.union([z.boolean(), z.strictObject({ cert: z.string().min(1), key: z.string().min(1) })]);
export type TlsSetting = z.infer<typeof TlsSetting>;

export async function listenerIdentity(o: {
  setting: TlsSetting | undefined;
  defaultOn: boolean;
  host: string;
  /** Data dir: a generated identity is kept in DIR/tls. */
  dir: string;
  allowInsecureHttp?: boolean;
  /** The listener, for the error ("the helper", "the admin listener"). */
  what: string;
}): Promise<TlsIdentity | undefined> {
  const loopback = isLoopbackHost(o.host);
  if (o.setting === false) {
    if (!loopback && !o.allowInsecureHttp) {
      throw new FerryError('INVALID_PARAMETERS', `${o.what} binds ${o.host} with "tls": false: plain http off this machine would carry tokens and read-caps in clear; drop "tls": false (a self-signed certificate is generated) or set allowInsecureHttp`);
    }
    return undefined;
  }
  if (o.setting === undefined && o.defaultOn === false && loopback) return undefined;
  const given = typeof o.setting === 'object' ? { certFile: o.setting.cert, keyFile: o.setting.key } : {};
  return loadOrCreateIdentity({ ...given, dir: o.dir, host: o.host });
}
