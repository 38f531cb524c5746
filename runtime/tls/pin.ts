/**
 * Key pins: the SHA-256 of a certificate's SubjectPublicKeyInfo (DER), as
 * Tahoe-LAFS's NURLs and curl's --pinnedpubkey use it. Ferry writes it in
 * lowercase unpadded base32 (52 characters); curl wants base64.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { base32Encode } from '../../core/base32.js';

export const PIN_PATTERN = /^[a-z2-7]{52}$/;

function spkiDigest(cert: X509Certificate | string | Buffer): Buffer {
  const x509 = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
  return createHash('sha256').update(x509.publicKey.export({ type: 'spki', format: 'der' })).digest();
}

/** The pin of a certificate (PEM, DER or parsed). */
export function spkiPin(cert: X509Certificate | string | Buffer): string {
  return base32Encode(spkiDigest(cert));
}

/** The same pin in curl's form: `sha256//<base64>`. */
export function curlPin(cert: X509Certificate | string | Buffer): string {
  return `sha256//${spkiDigest(cert).toString('base64')}`;
}
