/**
 * The helper holds a segment's n coded blocks in memory while it is pushed:
 * a check whose n × segment size exceeds limits.maxCodedSegmentBytes is
 * refused up front with a 4xx, before any hash is decoded.
 */
import { describe, expect, it } from 'vitest';
import { fileGeometry } from '../../../core/params.js';
import { validateCheck } from '../../../helper/intake/check-request.js';
import { parseHelperConfig } from '../../../helper/config.js';
import { statusFor } from '../../../runtime/http/status.js';

const limits = { maxFileSize: 2 ** 40, minSegmentSize: 64 * 1024, maxSegments: 2 ** 20, maxCodedSegmentBytes: 256 * 1024 * 1024 };

function check(k: number, n: number, size: number, maxSegmentSize: number) {
  const segments = fileGeometry(size, { k, n, maxSegmentSize }).numSegments;
  return { storageIndex: 'a'.repeat(26), k, n, happy: k, size, maxSegmentSize, segmentHashes: Buffer.alloc(segments * 32).toString('base64') };
}

describe('limits.maxCodedSegmentBytes', () => {
  it('refuses k = 1, n = 256 with 64 MiB segments (16 GiB of blocks per segment) with 400 INVALID_PARAMETERS', async () => {
    const err = await validateCheck(check(1, 256, 128 * 1024 * 1024, 64 * 1024 * 1024), limits).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_PARAMETERS', message: expect.stringContaining('n × segment size') });
    expect(statusFor((err as { code: 'INVALID_PARAMETERS' }).code)).toBe(400);
  });

  it('accepts the defaults and n = 256 with 1 MiB segments', async () => {
    await expect(validateCheck(check(3, 10, 8 * 1024 * 1024, 1024 * 1024), limits)).resolves.toMatchObject({ params: { n: 10 } });
    await expect(validateCheck(check(1, 256, 4 * 1024 * 1024, 1024 * 1024), limits)).resolves.toMatchObject({ params: { n: 256 } });
  });

  it('is a named helper limit, 256 MiB by default', () => {
    expect(parseHelperConfig({ dataDir: 'x', clientTokens: ['t'.repeat(32)], storageServers: [] }).limits.maxCodedSegmentBytes).toBe(256 * 1024 * 1024);
  });
});
