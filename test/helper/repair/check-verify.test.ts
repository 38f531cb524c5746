/**
 * The pieces of check and repair on in-memory shares: every flipped byte of a
 * share is found by the full check (whole-share and streamed paths alike),
 * the cheap check finds what it claims to, stored trees are checked in
 * windows, placement never puts a share where a copy of it already is, and
 * an inspection classifies copies.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatVerifyCap } from '../../../core/capability.js';
import { isFerryError } from '../../../core/errors.js';
import { MerkleTree } from '../../../core/merkle.js';
import type { GridServer } from '../../../helper/grid/grid.js';
import type { ShareGraph } from '../../../helper/push/happiness.js';
import { inspectFile } from '../../../helper/repair/inspect.js';
import { placeRepair } from '../../../helper/repair/placement.js';
import { verifyStoredTree } from '../../../helper/repair/tree-check.js';
import { readFileShape, type FileShape } from '../../../helper/grid/open-file.js';
import { checkShareCheap, checkShareFull } from '../../../helper/repair/verify-shares.js';
import { MemoryStorage } from '../grid/memory-grid.js';
import { buildShares as build, type Built } from '../../support/repair.js';

/** A storage server in memory holding `held` complete shares of `si`. */
function memServer(id: string, si: string, held: Map<number, Buffer>, o: { failReads?: boolean } = {}): GridServer {
  const store = new MemoryStorage(id);
  for (const [shnum, bytes] of held) store.put(si, shnum, bytes);
  store.faults.failReads = o.failReads;
  return { id, url: `mem://${id}`, client: store };
}

const io = { timeoutMs: 5_000 };
const si = (b: Built) => b.f.si;
const streamed = { wholeShareMax: 0, windowBytes: 700 }; // a window smaller than a block: one block at a time

async function shapeOf(b: Built): Promise<FileShape> {
  return readFileShape(io, b.cap, si(b), { shnum: 0, server: memServer('s0', si(b), new Map([[0, b.shares[0]]])) });
}

async function rejects(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (!isFerryError(err)) throw err;
    expect(['INTEGRITY_ERROR', 'CORRUPT_SHARE', 'INVALID_PARAMETERS', 'RANGE_NOT_SATISFIABLE']).toContain(err.code);
    return err.message;
  }
  throw new Error('expected a rejection');
}

describe('share verification', () => {
  it('accepts every good share, cheap, whole and streamed', async () => {
    const b = await build(3 * 4096 - 1000); // 3 segments: a padding leaf in both trees
    const file = await shapeOf(b);
    for (let s = 0; s < 10; s++) {
      const c = { shnum: s, server: memServer('x', si(b), new Map([[s, b.shares[s]]])) };
      const root = await checkShareCheap(io, file, c);
      expect(await checkShareFull(io, file, c)).toEqual(root);
      expect(await checkShareFull(io, file, c, streamed)).toEqual(root);
    }
  });

  it('finds every flipped byte of a share, in both full-check paths', async () => {
    const b = await build(3 * 4096 - 1000);
    const file = await shapeOf(b);
    const l = file.layout;
    const share = b.shares[5];
    const positions = new Set<number>();
    for (let p = 0; p < l.blocksOffset; p++) positions.add(p);
    for (let p = l.blockTreeOffset; p < l.end; p++) positions.add(p); // every tree node, the chain, the UEB
    for (let p = l.blocksOffset; p < l.blockTreeOffset; p += 97) positions.add(p); // a sample of block bytes
    positions.add(l.blockTreeOffset - 1); // last byte of the tail block
    let cheapFound = 0;
    for (const p of positions) {
      const bad = Buffer.from(share);
      bad[p] ^= 0x01;
      const c = { shnum: 5, server: memServer('x', si(b), new Map([[5, bad]])) };
      await rejects(checkShareFull(io, file, c));
      await rejects(checkShareFull(io, file, c, streamed));
      try {
        await checkShareCheap(io, file, c);
      } catch {
        cheapFound++;
      }
    }
    // The cheap check sees the header, the block-tree root, the chain and the UEB.
    expect(cheapFound).toBe(l.blocksOffset + 32 + (l.crypttextTreeOffset - l.shareChainOffset) + (l.end - l.uebOffset));
  });

  it('finds truncated, extended and misnumbered shares', async () => {
    const b = await build(5000);
    const file = await shapeOf(b);
    const variants: [string, Buffer, number][] = [
      ['truncated', b.shares[1].subarray(0, b.shares[1].length - 1), 1],
      ['extended', Buffer.concat([b.shares[1], Buffer.from([0])]), 1],
      ['stored under another number', b.shares[2], 1],
    ];
    for (const [what, bytes, shnum] of variants) {
      const c = { shnum, server: memServer('x', si(b), new Map([[shnum, bytes]])) };
      expect(await rejects(checkShareCheap(io, file, c)), what).toBeTruthy();
      await rejects(checkShareFull(io, file, c));
      await rejects(checkShareFull(io, file, c, streamed));
    }
  });

  it('checks a stored tree level by level in small windows', async () => {
    const leaves = Array.from({ length: 37 }, () => randomBytes(32));
    const t = new MerkleTree(leaves);
    const bytes = t.serialize();
    const reader = (buf: Buffer) => async (a: number, e: number) => buf.subarray(a * 32, e * 32);
    for (const w of [2, 4, 64, 100_000]) await verifyStoredTree(reader(bytes), 37, t.root, 'tree', w);
    for (const node of [0, 1, 30, 62, 63 + 36, 63 + 40, 126]) {
      const bad = Buffer.from(bytes);
      bad[node * 32 + 7] ^= 0x80;
      await expect(verifyStoredTree(reader(bad), 37, t.root, 'tree', 4), `node ${node}`).rejects.toThrow(/tree: (root|node|padding)/);
    }
  });
});

describe('inspection', () => {
  it('classifies copies: good, corrupt (cheap and full), unreachable; learns the UEB past bad copies', async () => {
    const b = await build(3 * 4096 - 1000);
    const bad0 = Buffer.from(b.shares[0]);
    bad0[10] ^= 1; // header: the first copy tried cannot give the UEB
    const bad3 = Buffer.from(b.shares[3]);
    bad3[200] ^= 1; // a block
    const servers = [
      memServer('a', si(b), new Map([[0, bad0]])),
      memServer('b', si(b), new Map([[1, b.shares[1]], [3, bad3]])),
      memServer('c', si(b), new Map([[2, b.shares[2]]]), { failReads: true }),
      memServer('d', si(b), new Map([[4, b.shares[4]], [5, b.shares[5]]])),
    ];
    const cheap = await inspectFile(b.cap, si(b), servers, { io, surveyTimeoutMs: 1000, verify: false, report: false });
    expect(cheap.file).toBeDefined();
    expect([...cheap.good.keys()].sort()).toEqual([1, 3, 4, 5]);
    expect(cheap.corrupt.map((c) => `${c.shnum}@${c.server}`)).toEqual(['0@a']);
    expect(cheap.verdicts.find((v) => v.copy.shnum === 2)?.status).toBe('transient');
    expect(cheap.depth).toBe('cheap');
    const full = await inspectFile(b.cap, si(b), servers, { io, surveyTimeoutMs: 1000, verify: true, report: false });
    expect([...full.good.keys()].sort()).toEqual([1, 4, 5]);
    expect(full.corrupt.map((c) => `${c.shnum}@${c.server}`).sort()).toEqual(['0@a', '3@b']);
    expect(full.depth).toBe('full');
    // Escalation: one bad copy makes the rest be checked fully.
    const escalated = await inspectFile(b.cap, si(b), servers, { io, surveyTimeoutMs: 1000, verify: false, escalate: true, report: false });
    expect([...escalated.good.keys()].sort()).toEqual([1, 4, 5]);
    // Known-bad copies are not even read.
    const known = await inspectFile(b.cap, si(b), servers, { io, surveyTimeoutMs: 1000, verify: false, report: false, knownCorrupt: new Map([['4@d', 'seen before']]) });
    expect(known.corrupt.find((c) => c.shnum === 4)?.reason).toBe('seen before');
  });

  it('refuses a capability whose k, n or size disagree with the UEB it names', async () => {
    const b = await build(5000);
    const servers = [memServer('a', si(b), new Map([[0, b.shares[0]]]))];
    const wrong = { ...b.cap, size: b.cap.size + 1 };
    await expect(inspectFile(wrong, si(b), servers, { io, surveyTimeoutMs: 1000, verify: false, report: false })).rejects.toMatchObject({ code: 'INVALID_CAPABILITY' });
    expect(formatVerifyCap(b.cap)).toMatch(/^ferry-chk-verify:/);
  });
});

describe('repair placement', () => {
  const g = (entries: [number, string[]][]): ShareGraph => new Map(entries.map(([s, ids]) => [s, new Set(ids)]));
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `s${i}`);

  it('puts missing shares on servers that hold nothing first, one each', () => {
    const existing = g([[0, ['s0']], [1, ['s1']], [2, ['s2']]]);
    const writable = [...ids(13).slice(3), 's0', 's1', 's2'];
    const p = placeRepair({ n: 10, writable, existing, occupied: existing });
    expect([...p.push.keys()].sort((a, b) => a - b)).toEqual([3, 4, 5, 6, 7, 8, 9]);
    expect(new Set(p.push.values()).size).toBe(7);
    for (const w of p.push.values()) expect(['s0', 's1', 's2']).not.toContain(w);
    expect(p.happiness).toBe(10);
  });

  it('never writes a share where a (bad) copy of it already is', () => {
    // Ten servers, each with one share; share 4 on s4 is bad; no empty server.
    const existing = g(ids(10).flatMap((id, s) => (s === 4 ? [] : [[s, [id]] as [number, string[]]])));
    const occupied = g(ids(10).map((id, s) => [s, [id]] as [number, string[]]));
    const p = placeRepair({ n: 10, writable: ids(10), existing, occupied });
    expect([...p.push.keys()]).toEqual([4]);
    expect(p.push.get(4)).not.toBe('s4');
    expect(p.happiness).toBe(9);
  });

  it('keeps an earlier placement while it is allowed, and drops it when not', () => {
    const existing = g([[0, ['s0']], [1, ['s1']], [2, ['s2']]]);
    const keep = new Map([[3, 's9'], [4, 's1'], [5, 'gone']]);
    const p = placeRepair({ n: 6, writable: ids(10), existing, occupied: g([[0, ['s0']], [1, ['s1']], [2, ['s2']], [4, ['s1']]]), keep });
    expect(p.push.get(3)).toBe('s9');
    expect(p.push.get(4)).not.toBe('s1');
    expect(p.push.get(5)).not.toBe('gone');
  });
});
