/**
 * Self-signed X.509 certificates for Ferry's listeners. The key pair is an
 * ECDSA P-256 key from node:crypto (fast to generate: a test grid makes ten);
 * certificate-der.ts encodes and signs the certificate.
 * Nothing checks the certificate's name or dates when a peer is pinned (the
 * pin is on the key), but curl, wget and aria2c given the certificate as
 * their CA do: it names localhost, the loopback addresses and the bind host.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

export const CERTIFICATE_NAME = 'ferry self-signed';

/** A fresh P-256 private key. */
export function generateKey(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

/** Host names the certificate names: localhost, both loopback addresses, and `extra` (the bind host) unless it is a wildcard. */
export function certificateHosts(extra: readonly string[] = []): string[] {
  const hosts = new Set(['localhost', '127.0.0.1', '::1']);
  for (const h of extra) {
    const bare = h.replace(/^\[|\]$/g, '');
    if (bare && bare !== '0.0.0.0' && bare !== '::' && (isIP(bare) || /^[a-z0-9.-]+$/i.test(bare))) hosts.add(bare);
  }
  return [...hosts];
}

/** A self-signed certificate for `key`, valid from an hour ago for `days`. */
export async function selfSignedCertificate(key: KeyObject, o: { hosts: readonly string[]; days: number; now?: Date }): Promise<string> {
  const now = o.now ?? new Date();
  // Loaded only here: issuing is rare, and the encoder's library is large.
  const { encodeSelfSigned } = await import('./certificate-der.js');
  return encodeSelfSigned(key, { name: CERTIFICATE_NAME, hosts: o.hosts, notBefore: new Date(now.getTime() - 3_600_000), notAfter: new Date(now.getTime() + o.days * 86_400_000) });
}
