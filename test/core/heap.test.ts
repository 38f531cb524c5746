import { describe, expect, it } from 'vitest';
import { cipherReady } from '../../core/crypto/cipher.js';
import { primeAllocator } from '../../core/crypto/heap.js';

describe('primeAllocator', () => {
  it('runs once per process, and cipherReady() runs it', async () => {
    await cipherReady();
    // cipherReady() already primed this process: the large allocation is not repeated.
    expect(primeAllocator()).toBe(false);
    expect(primeAllocator()).toBe(false);
  });
});
