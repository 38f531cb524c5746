import vm from 'node:vm';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cipherReady, SeekableCipher } from '../../core/crypto/cipher.js';
import { cipherPieces, encryptInto } from '../../client/cipher-pieces.js';
import { disableGcPacing, enableGcPacing, GC_PACE_BYTES, producedGarbage } from '../../client/gc-pacer.js';

beforeAll(() => cipherReady());
afterEach(() => disableGcPacing());

const cursor = () => new SeekableCipher(new Uint8Array(32).fill(7)).cursor(0);

describe('GC pacing of dead cipher output', () => {
  it('collects once per GC_PACE_BYTES encrypted, into a buffer or as pieces', () => {
    let collections = 0;
    enableGcPacing(() => collections++);
    const plain = new Uint8Array(GC_PACE_BYTES / 2);
    const out = new Uint8Array(plain.length);
    const c = cursor();
    for (let i = 0; i < 5; i++) encryptInto(c, plain, out, 0); // 2.5 x the pace
    expect(collections).toBe(2);
    for (let i = 0; i < 3; i++) for (const piece of cipherPieces(c, plain)) expect(piece.length).toBeGreaterThan(0); // 4 x in all
    expect(collections).toBe(4);
    disableGcPacing();
    encryptInto(c, plain, out, 0);
    encryptInto(c, plain, out, 0);
    expect(collections).toBe(4);
  });

  it('is off unless enabled (the library alone never collects)', () => {
    let collections = 0;
    enableGcPacing(() => collections++);
    disableGcPacing();
    producedGarbage(4 * GC_PACE_BYTES);
    expect(collections).toBe(0);
  });

  it('runs a real young-generation collection without exposing gc to other contexts', () => {
    enableGcPacing();
    producedGarbage(GC_PACE_BYTES);
    producedGarbage(GC_PACE_BYTES);
    if (!process.execArgv.includes('--expose-gc')) expect(vm.runInNewContext('typeof gc')).toBe('undefined');
  });
});
