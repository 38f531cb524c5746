import { promises as fs } from 'node:fs';
import type { FileGeometry } from '../../core/params.js';
import { segmentRange } from '../../core/params.js';

/**
 * Reads ciphertext segments from a spool file into two buffers used in
 * turn, so segment i+1 can be read while segment i is still being coded:
 * memory stays at two segments whatever the file size.
 */
export class SegmentSource {
  private readonly bufs: [Buffer, Buffer];

  private constructor(
    private readonly fh: fs.FileHandle,
    private readonly g: FileGeometry,
  ) {
    this.bufs = [Buffer.allocUnsafe(Math.max(1, g.segmentSize)), Buffer.allocUnsafe(Math.max(1, g.segmentSize))];
  }

  static async open(file: string, g: FileGeometry): Promise<SegmentSource> {
    return new SegmentSource(await fs.open(file, 'r'), g);
  }

  /** Segment i's ciphertext (unpadded). The view is valid until segment i+2 is read. */
  async read(i: number): Promise<Buffer> {
    const { start, end } = segmentRange(this.g, i);
    const len = end - start;
    const buf = this.bufs[i % 2];
    let got = 0;
    while (got < len) {
      const { bytesRead } = await this.fh.read(buf, got, len - got, start + got);
      if (bytesRead === 0) throw new Error(`spool ended early at segment ${i}`);
      got += bytesRead;
    }
    return buf.subarray(0, len);
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
