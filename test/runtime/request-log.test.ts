import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { redactCapabilities, requestLog } from '../../runtime/http/request-log.js';

describe('request log', () => {
  it('never writes a capability to the log', async () => {
    const lines: string[] = [];
    const push = (obj: object, msg?: string) => lines.push(JSON.stringify(obj) + (msg ?? ''));
    const sink = { info: push, warn: push };
    const app = express();
    app.use(requestLog(sink));
    app.get('/uri/:cap', (_req, res) => res.send('x'));
    const cap = `ferry-chk:${'a'.repeat(52)}:${'b'.repeat(52)}:3:10:100`;
    await request(app).get(`/uri/${cap}?filename=x`);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain('aaaaaaaa');
    expect(lines.join('\n')).toContain('/uri/<read-cap>');
    expect(redactCapabilities(`/uri/ferry-chk-verify:${'c'.repeat(26)}:x:1:2:3/name`)).toBe('/uri/<verify-cap>/name');
  });
});
