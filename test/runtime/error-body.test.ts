import { describe, expect, it } from 'vitest';
import { ERROR_CODES, FerryError } from '../../core/errors.js';
import { decodeErrorBody, toErrorBody } from '../../runtime/http/errors.js';
import { codeForStatus, statusFor } from '../../runtime/http/status.js';

describe('runtime/http error bodies', () => {
  it('decodes what toErrorBody encodes: code, message and details', () => {
    for (const code of ERROR_CODES) {
      const { status, body } = toErrorBody(new FerryError(code, `it failed: ${code}`, { details: { missing: [1, 2] } }));
      expect(decodeErrorBody(status, JSON.stringify(body))).toEqual({ sentCode: code, code, message: `it failed: ${code}`, details: { missing: [1, 2] }, firstLine: JSON.stringify(body) });
    }
  });

  it('reads a status without a known code back through the status table', () => {
    for (const status of [401, 403, 404, 409, 413, 416, 423, 460, 502]) expect(statusFor(codeForStatus(status))).toBe(status);
    expect(codeForStatus(400)).toBe('BAD_REQUEST');
    expect(codeForStatus(409)).toBe('CONFLICT');
    expect(codeForStatus(503)).toBe('UNAVAILABLE');
    expect(codeForStatus(429)).toBe('UNAVAILABLE');
    expect(codeForStatus(408)).toBe('TIMEOUT');
    // Another server's 500 is an upstream failure here, never our INTERNAL.
    expect(codeForStatus(500)).toBe('UPSTREAM_ERROR');
    expect(codeForStatus(418)).toBe('BAD_REQUEST');
    const proxy = decodeErrorBody(502, '<html>Bad Gateway</html>\n<body>…</body>');
    expect(proxy).toMatchObject({ sentCode: undefined, code: 'UPSTREAM_ERROR', message: undefined, firstLine: '<html>Bad Gateway</html>' });
    expect(decodeErrorBody(404, JSON.stringify({ error: 'NOT_A_CODE', message: 'gone' }))).toMatchObject({ sentCode: undefined, code: 'NOT_FOUND', message: 'gone' });
  });
});
