import { promises as fs } from 'node:fs';
import type { FileGeometry } from '../../core/params.js';
import { segmentRange } from '../../core/params.js';

/**
 * Reads ciphertext segments from a spool file, one at a time, into a buffer
 * reused across segments: memory stays at one segment whatever the file size.
 */
export class SegmentSource {
  private readonly buf: Buffer;

  private constructor(
    private readonly fh: fs.FileHandle,
    private readonly g: FileGeometry,
  ) {
    this.buf = Buffer.allocUnsafe(Math.max(1, g.segmentSize));
  }

  static async open(file: string, g: FileGeometry): Promise<SegmentSource> {
    return new SegmentSource(await fs.open(file, 'r'), g);
  }

  /** Segment i's ciphertext (unpadded). The view is valid until the next call. */
  async read(i: number): Promise<Buffer> {
    const { start, end } = segmentRange(this.g, i);
    const len = end - start;
    let got = 0;
    while (got < len) {
      const { bytesRead } = await this.fh.read(this.buf, got, len - got, start + got);
      if (bytesRead === 0) throw new Error(`spool ended early at segment ${i}`);
      got += bytesRead;
    }
    return this.buf.subarray(0, len);
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
