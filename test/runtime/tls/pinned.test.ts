import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { X509Certificate } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from 'undici';
import { listen, type Listening } from '../../../runtime/http/listen.js';
import { assertSecureTransport, formatPinnedAddress, parseServerAddress } from '../../../runtime/tls/address.js';
import { selfSignedCertificate, generateKey } from '../../../runtime/tls/certificate.js';
import { connectOptions, PinMismatchError } from '../../../runtime/tls/dispatcher.js';
import { loadOrCreateIdentity, type TlsIdentity } from '../../../runtime/tls/identity.js';
import { listenerIdentity } from '../../../runtime/tls/setting.js';
import { tempDir } from '../../support/tmp.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let identity: TlsIdentity;
let server: Listening;
let requests = 0;

beforeAll(async () => {
  tmp = await tempDir();
  identity = await loadOrCreateIdentity({ dir: tmp.dir });
  server = await listen(
    (_req, res) => {
      requests++;
      res.end('hello');
    },
    { host: '127.0.0.1', port: 0, tls: identity },
  );
});

afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
});

async function get(address: string): Promise<string> {
  const a = parseServerAddress(address);
  const pool = new Pool(a.url.origin, { connect: connectOptions(a) });
  try {
    const res = await pool.request({ method: 'GET', path: '/' });
    return await res.body.text();
  } finally {
    await pool.close();
  }
}

describe('pinned HTTPS', () => {
  it('serves https and keeps the generated key private', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect((await stat(path.join(tmp.dir, 'tls', 'key.pem'))).mode & 0o777).toBe(0o600);
    const x509 = new X509Certificate(identity.cert);
    expect(x509.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(x509.checkHost('localhost')).toBe('localhost');
  });

  it('connects to a self-signed server when the pin matches, on every new connection', async () => {
    const address = formatPinnedAddress(server.url, [identity.pin]);
    expect(address).toBe(`${server.url}/#spki=${identity.pin}`);
    expect(await get(address)).toBe('hello');
    expect(await get(address)).toBe('hello');
  });

  it('refuses a wrong pin before sending a request, naming both pins', async () => {
    const other = (await loadOrCreateIdentity({ dir: path.join(tmp.dir, 'other') })).pin;
    const before = requests;
    const err = await get(formatPinnedAddress(server.url, [other])).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PinMismatchError);
    expect((err as Error).message).toContain(other);
    expect((err as Error).message).toContain(identity.pin);
    expect(requests).toBe(before);
  });

  it('accepts either pin of a rotation overlap', async () => {
    const other = (await loadOrCreateIdentity({ dir: path.join(tmp.dir, 'other') })).pin;
    expect(await get(formatPinnedAddress(server.url, [other, identity.pin]))).toBe('hello');
  });

  it('verifies an unpinned https address the normal way (a self-signed certificate is refused)', async () => {
    await expect(get(server.url)).rejects.toThrow(/self-signed|self signed/i);
  });

  it('keeps the key and re-issues an expired certificate for it: the pin stays', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const first = await loadOrCreateIdentity({ dir });
      const { createPrivateKey } = await import('node:crypto');
      const expired = await selfSignedCertificate(createPrivateKey(first.key), { hosts: ['127.0.0.1'], days: 1, now: new Date(Date.now() - 10 * 86_400_000) });
      await writeFile(path.join(dir, 'tls', 'cert.pem'), expired);
      const again = await loadOrCreateIdentity({ dir });
      expect(again.pin).toBe(first.pin);
      expect(again.created).toBe(false);
      expect(new Date(new X509Certificate(again.cert).validTo).getTime()).toBeGreaterThan(Date.now() + 86_400_000);
    } finally {
      await cleanup();
    }
  });

  it('uses an operator certificate and key as given, and refuses a key that is not the certificate\'s', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const key = generateKey();
      const cert = await selfSignedCertificate(key, { hosts: ['example.org'], days: 10 });
      await writeFile(path.join(dir, 'c.pem'), cert);
      await writeFile(path.join(dir, 'k.pem'), key.export({ type: 'pkcs8', format: 'pem' }));
      await writeFile(path.join(dir, 'wrong.pem'), generateKey().export({ type: 'pkcs8', format: 'pem' }));
      const given = await loadOrCreateIdentity({ dir, certFile: path.join(dir, 'c.pem'), keyFile: path.join(dir, 'k.pem') });
      expect(given.cert).toBe(cert);
      await expect(loadOrCreateIdentity({ dir, certFile: path.join(dir, 'c.pem'), keyFile: path.join(dir, 'wrong.pem') })).rejects.toThrow(/not the certificate's/);
    } finally {
      await cleanup();
    }
  });

  it('works with curl --pinnedpubkey (the operations.md line), if curl is installed', async () => {
    try {
      execFileSync('curl', ['--version'], { stdio: 'ignore' });
    } catch {
      return;
    }
    // Asynchronously: the server answers from this process.
    const run = promisify(execFile);
    expect((await run('curl', ['-sS', '-k', '--pinnedpubkey', identity.curlPin, `${server.url}/`])).stdout).toBe('hello');
    expect((await run('curl', ['-sS', '--cacert', identity.certFile, `${server.url}/`])).stdout).toBe('hello');
    await expect(run('curl', ['-sS', '-k', '--pinnedpubkey', `sha256//${'A'.repeat(43)}=`, `${server.url}/`])).rejects.toThrow(/pinned|public key/i);
  });

  it('works with wget --ca-certificate (the operations.md line), if wget is installed', async () => {
    const run = promisify(execFile);
    try {
      await run('wget', ['--version']);
    } catch {
      return;
    }
    expect((await run('wget', ['-q', '-O', '-', `--ca-certificate=${identity.certFile}`, `${server.url}/`])).stdout).toBe('hello');
    await expect(run('wget', ['-q', '-O', '-', `${server.url}/`])).rejects.toThrow();
  });
});

describe('addresses', () => {
  it('parses the pinned form and refuses malformed pins', () => {
    const pin = 'a'.repeat(52);
    const a = parseServerAddress(`https://10.0.0.5:7000/#spki=${pin}`);
    expect(a).toMatchObject({ base: 'https://10.0.0.5:7000', pins: [pin] });
    expect(() => parseServerAddress('https://10.0.0.5:7000/#spki=short')).toThrow(/52 base32/);
    expect(() => parseServerAddress(`http://10.0.0.5:7000/#spki=${pin}`)).toThrow(/needs https/);
  });

  it('refuses plain http off this machine unless allowInsecureHttp, and says why', () => {
    expect(() => assertSecureTransport(parseServerAddress('http://10.0.0.5:7000'), { what: 'storage server' })).toThrow(/not a loopback address.*allowInsecureHttp/);
    expect(() => assertSecureTransport(parseServerAddress('http://10.0.0.5:7000'), { what: 'storage server', allowInsecureHttp: true })).not.toThrow();
    expect(() => assertSecureTransport(parseServerAddress('http://127.0.0.2:7000'), { what: 'storage server' })).not.toThrow();
    expect(() => assertSecureTransport(parseServerAddress('http://[::1]:7000'), { what: 'storage server' })).not.toThrow();
    expect(() => assertSecureTransport(parseServerAddress('https://10.0.0.5:7000'), { what: 'storage server' })).not.toThrow();
  });

  it('a listener off loopback always gets TLS; plain http only on loopback or with allowInsecureHttp', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const o = { dir, what: 'the helper', defaultOn: false };
      await expect(listenerIdentity({ ...o, setting: undefined, host: '127.0.0.1' })).resolves.toBeUndefined();
      expect((await listenerIdentity({ ...o, setting: undefined, host: '0.0.0.0' }))?.pin).toMatch(/^[a-z2-7]{52}$/);
      await expect(listenerIdentity({ ...o, setting: false, host: '0.0.0.0' })).rejects.toThrow(/in clear/);
      await expect(listenerIdentity({ ...o, setting: false, host: '0.0.0.0', allowInsecureHttp: true })).resolves.toBeUndefined();
      expect(await listenerIdentity({ ...o, setting: true, host: '127.0.0.1' })).toBeDefined();
    } finally {
      await cleanup();
    }
  });
});
