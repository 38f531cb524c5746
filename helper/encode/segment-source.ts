import { promises as fs } from 'node:fs';
import type { FileGeometry } from '../../core/params.js';
import { segmentRange } from '../../core/params.js';
import { netstring, TAGS } from '../../core/tagged-hash.js';

/** Each buffer starts with the crypttext-segment tag, so a segment is hashed where it was read. */
const PREFIX = netstring(TAGS.crypttextSegment);

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
    const framed = () => {
      const b = Buffer.allocUnsafe(PREFIX.length + Math.max(1, g.segmentSize));
      PREFIX.copy(b, 0);
      return b;
    };
    this.bufs = [framed(), framed()];
  }

  static async open(file: string, g: FileGeometry): Promise<SegmentSource> {
    return new SegmentSource(await fs.open(file, 'r'), g);
  }

  /**
   * Segment i's ciphertext (unpadded), and the same bytes behind their hash
   * tag: framedDigest(framed) is the segment's crypttext hash. The views are
   * valid until segment i+2 is read.
   */
  async read(i: number): Promise<{ segment: Buffer; framed: Buffer }> {
    const { start, end } = segmentRange(this.g, i);
    const len = end - start;
    const buf = this.bufs[i % 2];
    let got = 0;
    while (got < len) {
      const { bytesRead } = await this.fh.read(buf, PREFIX.length + got, len - got, start + got);
      if (bytesRead === 0) throw new Error(`spool ended early at segment ${i}`);
      got += bytesRead;
    }
    return { segment: buf.subarray(PREFIX.length, PREFIX.length + len), framed: buf.subarray(0, PREFIX.length + len) };
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
