import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FerryError } from '../../core/errors.js';
import { parseDuration } from '../../runtime/duration.js';
import { mkdirDurable, writeFileDurable } from '../../runtime/fs/durable.js';
import { bearerToken, safeEqual } from '../../runtime/http/auth.js';
import {
  formatContentRange,
  formatRangeHeader,
  parseContentRange,
  parseRangeHeader,
  resolveRange,
  resolveRanges,
} from '../../runtime/http/range.js';
import { addInterval, complement, coveredLength, coversAll, isCanonical, splitBy, type Interval } from '../../runtime/intervals.js';
import { KeyedMutex } from '../../runtime/lock.js';
import { formatSize, parseSize } from '../../runtime/size.js';
import { resolveStorageConfig } from '../../storage/config.js';
import { loadOrCreateGridToken } from '../../storage/token.js';

function rangeCode(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as FerryError).code;
  }
}

describe('runtime/http/range', () => {
  it('parses Range headers into specs', () => {
    expect(parseRangeHeader('bytes=0-99')).toEqual([{ kind: 'int', first: 0, last: 99 }]);
    expect(parseRangeHeader('bytes=100-')).toEqual([{ kind: 'int', first: 100, last: undefined }]);
    expect(parseRangeHeader('bytes=-50')).toEqual([{ kind: 'suffix', length: 50 }]);
    expect(parseRangeHeader('Bytes=0-1, 5-6,\t-2')).toHaveLength(3);
    for (const bad of ['bytes=', 'bytes=5-1', 'bytes=a-1', 'bytes=0-1,', 'bytes=-', 'items=0-1', '0-1', 'bytes= 0-1x', 'bytes=1234567890123456-']) {
      expect(rangeCode(() => parseRangeHeader(bad)), bad).toBe('INVALID_RANGE');
    }
    expect(rangeCode(() => parseRangeHeader('bytes=0-1,2-3,4-5', { maxRanges: 2 }))).toBe('INVALID_RANGE');
  });

  it('resolves specs against a size', () => {
    expect(resolveRange({ kind: 'int', first: 0, last: 9 }, 5)).toEqual({ start: 0, end: 5 });
    expect(resolveRange({ kind: 'int', first: 5, last: undefined }, 5)).toBeUndefined();
    expect(resolveRange({ kind: 'suffix', length: 3 }, 5)).toEqual({ start: 2, end: 5 });
    expect(resolveRange({ kind: 'suffix', length: 0 }, 5)).toBeUndefined();
    expect(resolveRanges(parseRangeHeader('bytes=10-20,0-1'), 5)).toEqual([{ start: 0, end: 2 }]);
    expect(rangeCode(() => resolveRanges(parseRangeHeader('bytes=10-20'), 5))).toBe('RANGE_NOT_SATISFIABLE');
  });

  it('parses and formats Content-Range', () => {
    expect(parseContentRange('bytes 0-15/48')).toEqual({ start: 0, end: 16, total: 48 });
    expect(parseContentRange('bytes 16-31/*')).toEqual({ start: 16, end: 32, total: undefined });
    for (const bad of ['bytes 5-4/10', 'bytes 0-10/10', 'bytes */10', 'bytes=0-1/2', 'bytes 0-1', 'bytes -1-2/3', 'bytes 0-1/2x', 'bytes 0x1-2/3']) {
      expect(rangeCode(() => parseContentRange(bad)), bad).toBe('INVALID_RANGE');
    }
    expect(formatContentRange({ start: 0, end: 16 }, 48)).toBe('bytes 0-15/48');
    expect(formatContentRange({ start: 0, end: 16 }, undefined)).toBe('bytes 0-15/*');
    expect(formatRangeHeader([{ start: 0, end: 10 }, { start: 20, end: 21 }])).toBe('bytes=0-9,20-20');
  });

  it('round-trips ranges (property)', () => {
    fc.assert(
      fc.property(fc.nat(2 ** 40), fc.integer({ min: 1, max: 2 ** 30 }), (start, len) => {
        const r = { start, end: start + len };
        expect(parseContentRange(formatContentRange(r, r.end + 5))).toEqual({ ...r, total: r.end + 5 });
        expect(resolveRanges(parseRangeHeader(formatRangeHeader([r])), r.end)).toEqual([r]);
      }),
    );
  });
});

describe('runtime/intervals', () => {
  it('matches a bitmap model (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(60), fc.nat(20)), { maxLength: 12 }), (adds) => {
        const size = 80;
        const model = new Array<boolean>(size).fill(false);
        let set: Interval[] = [];
        for (const [s, len] of adds) {
          const e = Math.min(size, s + len);
          set = addInterval(set, [s, e]);
          for (let i = s; i < e; i++) model[i] = true;
        }
        expect(isCanonical(set)).toBe(true);
        expect(coveredLength(set)).toBe(model.filter(Boolean).length);
        expect(coversAll(set, size)).toBe(model.every(Boolean));
        const gaps = complement(set, size);
        expect(coveredLength(gaps) + coveredLength(set)).toBe(size);
        for (const piece of splitBy(set, [0, size])) {
          for (let i = piece.start; i < piece.end; i++) expect(model[i]).toBe(piece.inside);
        }
      }),
    );
  });
});

describe('runtime/size and duration', () => {
  it('parses sizes like Tahoe', () => {
    expect(parseSize('1000')).toBe(1000);
    expect(parseSize('10G')).toBe(10e9);
    expect(parseSize('10GB')).toBe(10e9);
    expect(parseSize('512M')).toBe(512e6);
    expect(parseSize('1.5GiB')).toBe(1.5 * 2 ** 30);
    expect(parseSize('64 kib')).toBe(65536);
    expect(parseSize(0)).toBe(0);
    for (const bad of ['', 'G', '-1', '1.2.3', '10X', '1e9', '10 G B']) expect(() => parseSize(bad), bad).toThrow(RangeError);
    expect(formatSize(1536)).toBe('1.5 KiB');
    expect(formatSize(12)).toBe('12 B');
  });

  it('parses durations', () => {
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration('1d12h')).toBe(36 * 3_600_000);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1500')).toBe(1500);
    for (const bad of ['', 'd', '7x', '7d junk', '-1s']) expect(() => parseDuration(bad), bad).toThrow(RangeError);
  });
});

describe('runtime/http/auth, lock', () => {
  it('extracts bearer tokens and compares in constant time', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer   abc  ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abcd')).toBe(false);
  });

  it('runs holders of one key one after another, in order', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const job = (key: string, name: string, ms: number) =>
      m.run(key, async () => {
        log.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`end ${name}`);
      });
    await Promise.all([job('a', 'a1', 20), job('a', 'a2', 1), job('b', 'b1', 5)]);
    expect(log.indexOf('end a1')).toBeLessThan(log.indexOf('start a2'));
    expect(log.indexOf('start b1')).toBeLessThan(log.indexOf('end a1'));
    expect(m.size).toBe(0);
    await expect(m.run('a', async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(m.isLocked('a')).toBe(false);
  });
});

describe('storage config and grid token', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-cfg-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('merges flags over a config file, resolving paths relative to it', async () => {
    const cfgFile = path.join(dir, 'storage.json');
    await fs.writeFile(
      cfgFile,
      JSON.stringify({ dir: 'data', port: 8000, tokenFile: 'token', reservedSpace: '1G', partialIdle: '2d', leaseDuration: '10d', sweepInterval: '5m' }),
    );
    const cfg = await resolveStorageConfig({ config: cfgFile, port: '9000' });
    expect(cfg).toMatchObject({
      dir: path.join(dir, 'data'),
      port: 9000,
      host: '127.0.0.1',
      tokenFile: path.join(dir, 'token'),
      reservedSpace: 1e9,
      partialIdleMs: 2 * 86_400_000,
      defaultLeaseMs: 10 * 86_400_000,
      sweepIntervalMs: 300_000,
    });
    await expect(resolveStorageConfig({ port: '1' })).rejects.toThrow(/data directory/);
    await expect(resolveStorageConfig({ dir })).rejects.toThrow(/port/);
    await expect(resolveStorageConfig({ dir, port: '70000' })).rejects.toThrow(/port/);
    await expect(resolveStorageConfig({ dir, port: '1', reservedSpace: 'lots' })).rejects.toThrow(/reserved space/);
    await fs.writeFile(cfgFile, JSON.stringify({ dir: 'x', colour: 'blue' }));
    await expect(resolveStorageConfig({ config: cfgFile })).rejects.toThrow(/config file/);
  });

  it('generates a private grid token once and reuses it', async () => {
    const data = path.join(dir, 'data');
    const first = await loadOrCreateGridToken(data);
    expect(first.created).toBe(true);
    expect(first.token).toMatch(/^[a-z2-7]{52}$/);
    expect((await fs.stat(first.file)).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateGridToken(data);
    expect(again).toEqual({ ...first, created: false });
    const own = path.join(dir, 'own-token');
    await fs.writeFile(own, 'short\n');
    await expect(loadOrCreateGridToken(data, own)).rejects.toThrow(/16\.\.512/);
    await fs.writeFile(own, 'a-long-enough-token-1234\n');
    expect((await loadOrCreateGridToken(data, own)).token).toBe('a-long-enough-token-1234');
  });

  it('writes files durably and atomically', async () => {
    const file = path.join(dir, 'a', 'b', 'c.json');
    expect(await mkdirDurable(path.dirname(file))).toBe(true);
    expect(await mkdirDurable(path.dirname(file))).toBe(false);
    await writeFileDurable(file, 'one');
    await writeFileDurable(file, 'two');
    expect(await fs.readFile(file, 'utf8')).toBe('two');
    await expect(writeFileDurable(file, 'three', { exclusive: true })).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await fs.readdir(path.dirname(file))).toEqual(['c.json']);
  });
});
