import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { download, upload } from '../../client/index.js';
import { parseReadCap } from '../../core/capability.js';
import { storageIndexFromKey } from '../../core/storage-index.js';
import { resolveClientSettings } from '../../client/config.js';
import { closeGrid, gridHelperConfig, startStorageServers } from '../../cli/local-grid.js';
import { parseHelperConfig } from '../../helper/config.js';
import { startHelper, type RunningHelper } from '../../helper/start.js';
import { formatPinnedAddress } from '../../runtime/tls/address.js';
import { loadOrCreateIdentity } from '../../runtime/tls/identity.js';
import { StorageClient } from '../../storage/client.js';
import { startStorageServer, type RunningStorageServer } from '../../storage/server.js';
import { CLIENT_TOKEN, GRID_TOKEN } from '../support/grid.js';
import { reassembleCap } from '../support/reassemble.js';
import { tempDir } from '../support/tmp.js';

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function dir(): Promise<string> {
  const t = await tempDir();
  stops.push(t.cleanup);
  return t.dir;
}

async function grid(o: { impostor?: number; helperTls?: boolean } = {}): Promise<{ home: string; storage: RunningStorageServer[]; helper: RunningHelper; pins: string[] }> {
  const home = await dir();
  const storage = await startStorageServers({ dir: home, count: 10, token: GRID_TOKEN, options: { sweepOnStart: false, closeGraceMs: 200 } });
  const running: { helper?: RunningHelper } = {};
  stops.push(() => closeGrid(running.helper, storage));
  const pins = storage.map((s) => s.pin!);
  const impostorPin = (await loadOrCreateIdentity({ dir: path.join(home, 'someone-else') })).pin;
  // The helper's address for server `impostor` pins a key that server does not have.
  const addresses = storage.map((s, i) => ({ url: i === o.impostor ? formatPinnedAddress(s.origin, [impostorPin]) : s.url }));
  const config = gridHelperConfig({
    dataDir: path.join(home, 'helper'),
    storage: addresses,
    gridToken: GRID_TOKEN,
    clientToken: CLIENT_TOKEN,
    overrides: { ...(o.helperTls ? { tls: true } : {}), limits: { retryBase: 50, retryMax: 200 } },
  });
  const helper = (running.helper = await startHelper(config));
  return { home, storage, helper, pins };
}

async function putFile(helperUrl: string, plain: Buffer): Promise<string> {
  const d = await dir();
  const file = path.join(d, 'file');
  await writeFile(file, plain);
  return (await upload(file, { helperUrl, token: CLIENT_TOKEN, stateDir: path.join(d, 'state'), retry: { attempts: 2, baseMs: 10, maxMs: 50 } })).cap;
}

describe('TLS between client, helper and storage servers', () => {
  it('puts and gets through a helper to ten storage servers, every hop over pinned TLS', async () => {
    const g = await grid({ helperTls: true });
    expect(g.storage.every((s, i) => s.url === `${s.origin}/#spki=${g.pins[i]}` && s.origin.startsWith('https://127.0.0.1:'))).toBe(true);
    expect(new Set(g.pins).size).toBe(10);
    const helperPin = (await loadOrCreateIdentity({ dir: path.join(g.home, 'helper') })).pin;
    const helperAddress = formatPinnedAddress(g.helper.url, [helperPin]);
    expect(helperAddress).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/#spki=[a-z2-7]{52}$/);

    const plain = randomBytes(300_001);
    const cap = await putFile(helperAddress, plain);
    expect((await reassembleCap({ urls: g.storage.map((s) => s.url), token: GRID_TOKEN }, cap)).equals(plain)).toBe(true);
    const copy = path.join(await dir(), 'copy');
    await download(cap, copy, { helperUrl: helperAddress });
    expect((await readFile(copy)).equals(plain)).toBe(true);

    // The same helper under a pin of another key: the client refuses it, naming both pins.
    const wrong = formatPinnedAddress(g.helper.url, [g.pins[0]!]);
    await expect(download(cap, path.join(await dir(), 'x'), { helperUrl: wrong, retry: { attempts: 0 } })).rejects.toThrow(new RegExp(`${helperPin}.*${g.pins[0]}|${g.pins[0]}.*${helperPin}`));
  });

  it('a storage server presenting a different key gets no share: placement goes to the others', async () => {
    const g = await grid({ impostor: 4 });
    const plain = randomBytes(200_000);
    const cap = await putFile(g.helper.url, plain);
    const honest = new StorageClient({ url: g.storage[4]!.url, token: GRID_TOKEN });
    stops.push(() => honest.close());
    expect(await honest.list(storageIndexFromKey(parseReadCap(cap).key))).toEqual([]);
    expect((await reassembleCap({ urls: g.storage.filter((_, i) => i !== 4).map((s) => s.url), token: GRID_TOKEN }, cap)).equals(plain)).toBe(true);
  });

  it('a rotated key: the old pin is refused with both pins named; an address with both pins works across the rotation', async () => {
    const d = await dir();
    const start = async () => {
      const tls = await loadOrCreateIdentity({ dir: d });
      const s = await startStorageServer({ dir: d, token: GRID_TOKEN, sweepOnStart: false, closeGraceMs: 200, tls });
      stops.push(() => s.close());
      return s;
    };
    const before = await start();
    const oldPin = before.pin!;
    await before.close();
    await rm(path.join(d, 'tls'), { recursive: true }); // the operator's new key
    const after = await start();
    const newPin = after.pin!;
    expect(newPin).not.toBe(oldPin);

    const stale = new StorageClient({ url: formatPinnedAddress(after.origin, [oldPin]), token: GRID_TOKEN });
    const overlap = new StorageClient({ url: formatPinnedAddress(after.origin, [newPin, oldPin]), token: GRID_TOKEN });
    stops.push(() => stale.close(), () => overlap.close());
    const err = (await stale.info().catch((e: unknown) => e)) as Error;
    expect(err.message).toContain(oldPin);
    expect(err.message).toContain(newPin);
    expect((await overlap.info()).serverId).toBe(after.serverId);
  });

  it('refuses plain http off this machine, for the helper\'s storage servers and the client\'s helper, unless allowInsecureHttp', async () => {
    const base = { dataDir: '/nonexistent', clientTokens: [CLIENT_TOKEN], storageServers: [{ url: 'http://10.9.8.7:7000', token: GRID_TOKEN }] };
    expect(() => parseHelperConfig(base)).toThrow(/refusing plain http to storage server http:\/\/10\.9\.8\.7:7000: it is not a loopback address/);
    expect(() => parseHelperConfig({ ...base, allowInsecureHttp: true })).not.toThrow();
    expect(() => new StorageClient({ url: 'http://10.9.8.7:7000', token: GRID_TOKEN })).toThrow(/allowInsecureHttp/);
    await expect(resolveClientSettings({ helper: 'http://10.9.8.7:3456', token: CLIENT_TOKEN }, {}, await dir())).rejects.toThrow(/refusing plain http to the helper/);
    await expect(resolveClientSettings({ helper: 'http://10.9.8.7:3456', token: CLIENT_TOKEN }, { FERRY_ALLOW_INSECURE_HTTP: '1' }, await dir())).resolves.toMatchObject({ helperUrl: 'http://10.9.8.7:3456' });
    await expect(resolveClientSettings({ helper: 'http://127.0.0.1:3456', token: CLIENT_TOKEN }, {}, await dir())).resolves.toBeDefined();
  });
});
