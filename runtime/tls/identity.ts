/**
 * A listener's TLS identity: the operator's certificate and key (`tls.cert`,
 * `tls.key`, e.g. from an ACME client), or a self-signed one generated at
 * first start and kept in the data dir (key mode 0600). A kept certificate
 * that is expired, about to expire, or does not name the bind host is
 * re-issued for the same key at start, so the pin — a hash of the key —
 * never changes by itself; a new pin takes a new key (docs/operations.md,
 * "Key rotation").
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FerryError } from '../../core/errors.js';
import { readFileIfExists, writeFileDurable } from '../fs/durable.js';
import { ensurePrivateDir } from '../fs/secret-file.js';
import { certificateHosts, generateKey, selfSignedCertificate } from './certificate.js';
import { curlPin, spkiPin } from './pin.js';

export const TLS_DIR = 'tls';
export const CERT_FILE = 'cert.pem';
export const KEY_FILE = 'key.pem';
/** Generated certificates last this long, and are re-issued at start when fewer than RENEW_DAYS remain. */
export const CERT_DAYS = 825;
export const RENEW_DAYS = 30;

export interface TlsIdentity {
  /** PEM. */
  cert: string;
  key: string;
  /** base32 SHA-256 of the key's SubjectPublicKeyInfo. */
  pin: string;
  /** The same pin for curl --pinnedpubkey. */
  curlPin: string;
  /** Where the certificate is (for wget/aria2c --ca-certificate). */
  certFile: string;
  /** True when this start generated a new key. */
  created: boolean;
}

export interface IdentityOptions {
  /** Operator-provided PEM files; both or neither. */
  certFile?: string;
  keyFile?: string;
  /** Where a generated identity is kept: DIR/tls/{cert,key}.pem. */
  dir: string;
  /** The bind host, named in a generated certificate. */
  host?: string;
  now?: Date;
}

function needsNewCertificate(pem: string | undefined, key: KeyObject, hosts: readonly string[], now: Date): boolean {
  if (!pem) return true;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(pem);
  } catch {
    return true;
  }
  if (!x509.checkPrivateKey(key)) return true;
  if (new Date(x509.validTo).getTime() - now.getTime() < RENEW_DAYS * 86_400_000) return true;
  return !hosts.every((h) => (h.includes(':') || /^\d+\.\d+\.\d+\.\d+$/.test(h) ? x509.checkIP(h) : x509.checkHost(h)) !== undefined);
}

export async function loadOrCreateIdentity(o: IdentityOptions): Promise<TlsIdentity> {
  if ((o.certFile === undefined) !== (o.keyFile === undefined)) throw new FerryError('INVALID_PARAMETERS', 'tls.cert and tls.key go together: give both or neither');
  if (o.certFile !== undefined && o.keyFile !== undefined) return loadGiven(o.certFile, o.keyFile);
  const dir = path.join(o.dir, TLS_DIR);
  await ensurePrivateDir(dir);
  const keyFile = path.join(dir, KEY_FILE);
  const certFile = path.join(dir, CERT_FILE);
  const keyPem = (await readFileIfExists(keyFile))?.toString('utf8');
  const key = keyPem ? createPrivateKey(keyPem) : generateKey();
  const keyText = keyPem ?? key.export({ type: 'pkcs8', format: 'pem' }).toString();
  if (!keyPem) await writeFileDurable(keyFile, keyText, { mode: 0o600 });
  const now = o.now ?? new Date();
  const hosts = certificateHosts(o.host ? [o.host] : []);
  let cert = (await readFileIfExists(certFile))?.toString('utf8');
  if (needsNewCertificate(cert, key, hosts, now)) {
    cert = await selfSignedCertificate(key, { hosts, days: CERT_DAYS, now });
    await writeFileDurable(certFile, cert, { mode: 0o644 });
  }
  const x509 = new X509Certificate(cert!);
  return { cert: cert!, key: keyText, pin: spkiPin(x509), curlPin: curlPin(x509), certFile, created: !keyPem };
}

async function loadGiven(certFile: string, keyFile: string): Promise<TlsIdentity> {
  const read = async (file: string, what: string) => {
    try {
      return await fs.readFile(file, 'utf8');
    } catch (err) {
      throw new FerryError('INVALID_PARAMETERS', `cannot read the TLS ${what} ${file}: ${(err as Error).message}`);
    }
  };
  const cert = await read(certFile, 'certificate');
  const key = await read(keyFile, 'key');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
    if (!x509.checkPrivateKey(createPrivateKey(key))) throw new Error('the key is not the certificate\'s');
  } catch (err) {
    throw new FerryError('INVALID_PARAMETERS', `TLS certificate ${certFile} and key ${keyFile}: ${(err as Error).message}`);
  }
  return { cert, key, pin: spkiPin(x509), curlPin: curlPin(x509), certFile, created: false };
}
