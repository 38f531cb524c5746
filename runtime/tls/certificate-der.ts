/**
 * The DER encoding of Ferry's self-signed certificates: node-forge's ASN.1
 * encoder builds the to-be-signed structure, node:crypto signs it. Imported
 * by certificate.ts only when a certificate is issued (first start, renewal),
 * so a running service does not carry node-forge (~10 MiB of RSS).
 */
import { createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

const { asn1 } = forge;
const U = asn1.Class.UNIVERSAL;
const T = asn1.Type;

const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const OID_COMMON_NAME = '2.5.4.3';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';

export interface CertificateFields {
  /** Subject and issuer common name. */
  name: string;
  hosts: readonly string[];
  notBefore: Date;
  notAfter: Date;
}

const binary = (b: Uint8Array): string => Buffer.from(b).toString('binary');
const oid = (o: string) => asn1.create(U, T.OID, false, asn1.oidToDer(o).getBytes());

function name(cn: string) {
  return asn1.create(U, T.SEQUENCE, true, [
    asn1.create(U, T.SET, true, [asn1.create(U, T.SEQUENCE, true, [oid(OID_COMMON_NAME), asn1.create(U, T.UTF8, false, forge.util.encodeUtf8(cn))])]),
  ]);
}

// RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
function time(d: Date) {
  return d.getUTCFullYear() < 2050 ? asn1.create(U, T.UTCTIME, false, asn1.dateToUtcTime(d)) : asn1.create(U, T.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(d));
}

/** subjectAltName: DNS names as dNSName [2], addresses as iPAddress [7]. */
function altNames(hosts: readonly string[]) {
  const names = hosts.map((h) => {
    const bare = h.replace(/^\[|\]$/g, '');
    if (isIP(bare) === 4) return asn1.create(asn1.Class.CONTEXT_SPECIFIC, 7, false, binary(Uint8Array.from(bare.split('.').map(Number))));
    if (isIP(bare) === 6) return asn1.create(asn1.Class.CONTEXT_SPECIFIC, 7, false, binary(ipv6Bytes(bare)));
    return asn1.create(asn1.Class.CONTEXT_SPECIFIC, 2, false, bare);
  });
  const value = asn1.toDer(asn1.create(U, T.SEQUENCE, true, names)).getBytes();
  return asn1.create(U, T.SEQUENCE, true, [oid(OID_SUBJECT_ALT_NAME), asn1.create(U, T.OCTETSTRING, false, value)]);
}

function ipv6Bytes(address: string): Uint8Array {
  // Expands "::" into the zero groups it stands for (no IPv4-in-IPv6 tail: not a bind host Ferry names).
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const part = (s: string | undefined) => (s ? s.split(':') : []);
  const h = part(head);
  const t = part(tail);
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

/** A PEM certificate for `key` with `f`'s fields, signed by `key` itself. */
export function encodeSelfSigned(key: KeyObject, f: CertificateFields): string {
  const spki = asn1.fromDer(forge.util.createBuffer(binary(createPublicKey(key).export({ type: 'spki', format: 'der' }))));
  const serial = randomBytes(16);
  serial[0]! &= 0x7f; // a positive INTEGER
  const algorithm = asn1.create(U, T.SEQUENCE, true, [oid(OID_ECDSA_WITH_SHA256)]);
  const tbs = asn1.create(U, T.SEQUENCE, true, [
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [asn1.create(U, T.INTEGER, false, asn1.integerToDer(2).getBytes())]),
    asn1.create(U, T.INTEGER, false, binary(serial)),
    algorithm,
    name(f.name),
    asn1.create(U, T.SEQUENCE, true, [time(f.notBefore), time(f.notAfter)]),
    name(f.name),
    spki,
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 3, true, [asn1.create(U, T.SEQUENCE, true, [altNames(f.hosts)])]),
  ]);
  const tbsDer = Buffer.from(asn1.toDer(tbs).getBytes(), 'binary');
  const signature = sign('sha256', tbsDer, key); // DER-encoded ECDSA-Sig-Value, as X.509 wants
  const certificate = asn1.create(U, T.SEQUENCE, true, [
    tbs,
    asn1.create(U, T.SEQUENCE, true, [oid(OID_ECDSA_WITH_SHA256)]),
    asn1.create(U, T.BITSTRING, false, `\u0000${binary(signature)}`),
  ]);
  const der = Buffer.from(asn1.toDer(certificate).getBytes(), 'binary');
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
}
