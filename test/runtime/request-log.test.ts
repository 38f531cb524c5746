import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { redactCapabilities, requestLog } from '../../runtime/http/request-log.js';

const KEY = 'a'.repeat(52);
const CAP = `ferry-chk:${KEY}:${'b'.repeat(52)}:3:10:100`;

describe('request log', () => {
  it('never writes a capability to the log', async () => {
    const lines: string[] = [];
    const push = (obj: object, msg?: string) => lines.push(JSON.stringify(obj) + (msg ?? ''));
    const sink = { info: push, warn: push };
    const app = express();
    app.use(requestLog(sink));
    app.get('/uri/:cap', (_req, res) => res.send('x'));
    await request(app).get(`/uri/${CAP}?filename=x`);
    await request(app).get(`/uri/${encodeURIComponent(CAP)}`);
    expect(lines).toHaveLength(2);
    expect(lines.join('\n')).not.toContain('aaaaaaaa');
    expect(lines.join('\n')).toContain('/uri/<read-cap>');
  });

  it('logs a request whose client went away (or that a shutdown ended) at info, and a 5xx at warn', async () => {
    const at: { level: string; msg: string }[] = [];
    const sink = { info: (_o: object, msg = '') => at.push({ level: 'info', msg }), warn: (_o: object, msg = '') => at.push({ level: 'warn', msg }) };
    const app = express();
    app.use(requestLog(sink));
    app.get('/hang', (req) => req.socket.destroy());
    app.get('/fail', (_req, res) => res.status(503).send('x'));
    await request(app).get('/hang').catch(() => undefined);
    await request(app).get('/fail');
    await new Promise((resolve) => setImmediate(resolve));
    expect(at).toEqual([
      { level: 'info', msg: expect.stringMatching(/^GET \/hang aborted /) },
      { level: 'warn', msg: expect.stringMatching(/^GET \/fail 503 /) },
    ]);
  });

  it('redacts a cap however it is spelled, and whatever follows /uri/', () => {
    expect(redactCapabilities(`/uri/ferry-chk-verify:${'c'.repeat(26)}:x:1:2:3/name`)).toBe('/uri/<verify-cap>/name');
    expect(redactCapabilities(`/uri/${encodeURIComponent(CAP)}`)).toBe('/uri/<read-cap>');
    // Every character escaped, upper-case scheme, a stray bad escape: still no key in the log.
    const allEscaped = [...CAP].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
    expect(redactCapabilities(`/uri/${allEscaped}/f.txt`)).toBe('/uri/<read-cap>/f.txt');
    expect(redactCapabilities(`/uri/FERRY-CHK:${KEY}`)).toBe('/uri/<read-cap>');
    expect(redactCapabilities(`/uri/${KEY}%zz`)).toBe('/uri/<cap>');
    expect(redactCapabilities(`/%75ri/${KEY}`)).toBe('/%75ri/<cap>');
    // Paths without caps are left alone.
    expect(redactCapabilities('/helper/v1/uploads/abc')).toBe('/helper/v1/uploads/abc');
    expect(redactCapabilities('/uri/')).toBe('/uri/');
  });
});
