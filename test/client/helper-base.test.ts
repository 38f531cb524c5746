/**
 * The one place a helper address becomes the base requests are built on:
 * what a user may paste (trailing slashes, the API URL `ferry helper` prints,
 * a pinned address) all reach the same helper, and a path prefix (a helper
 * behind a proxy) is kept.
 */
import { describe, expect, it } from 'vitest';
import { helperBase } from '../../client/http.js';

const PIN = 'a'.repeat(52);

describe('helperBase', () => {
  it('drops trailing slashes, a trailing /helper/v1 and the pin fragment; keeps a path prefix', () => {
    expect(helperBase('http://127.0.0.1:3456')).toBe('http://127.0.0.1:3456');
    expect(helperBase('http://127.0.0.1:3456//')).toBe('http://127.0.0.1:3456');
    expect(helperBase('http://127.0.0.1:3456/helper/v1')).toBe('http://127.0.0.1:3456');
    expect(helperBase('http://127.0.0.1:3456/helper/v1/')).toBe('http://127.0.0.1:3456');
    expect(helperBase(`https://helper.example:8443/#spki=${PIN}`)).toBe('https://helper.example:8443');
    expect(helperBase(`https://helper.example:8443/helper/v1#spki=${PIN}`)).toBe('https://helper.example:8443');
    expect(helperBase('https://proxy.example/ferry/')).toBe('https://proxy.example/ferry');
    expect(helperBase('https://proxy.example/ferry/helper/v1')).toBe('https://proxy.example/ferry');
    expect(() => helperBase('ftp://helper.example')).toThrow(expect.objectContaining({ code: 'INVALID_PARAMETERS' }));
  });
});
