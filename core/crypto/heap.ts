/**
 * Node's cipher (and WebCrypto, and socket reads) hand back a fresh malloc'ed
 * buffer per call. glibc returns memory freed at the top of its heap to the
 * kernel as soon as more than 128 KiB is free there, and one V8 GC frees many
 * MiB of such buffers at once: later allocations then fault in fresh pages.
 * Measured on a cold process encrypting 256 MiB in 64 KiB updates: 5-7
 * CPU-s/GiB, half of it page faults, against 0.7-1 once warm; the client's
 * two hashing passes went from ~6.5 to ~4 CPU-s/GiB.
 *
 * glibc raises that trim threshold to twice the size of any mmapped chunk
 * freed (mallopt(3), dynamic mmap threshold; at most 32 MiB). One untouched
 * 16 MiB buffer, freed by the next GC, does that for the whole process: it
 * is never written, so it costs no pages. The price is up to 32 MiB of freed
 * heap kept for reuse. Elsewhere (other libcs) it is a short-lived
 * allocation and nothing more.
 */
export const PRIMER_BYTES = 16 * 1024 * 1024;

let primed = false;

/** Once per process, before streaming many buffers through crypto or sockets. Returns false if already done. */
export function primeAllocator(): boolean {
  if (primed) return false;
  primed = true;
  Buffer.allocUnsafeSlow(PRIMER_BYTES);
  return true;
}
