import { CLIENT_TOKEN } from './grid.js';
import { checkBody, type PreparedFile } from './prepare.js';

/** Raw HTTP calls to the helper, as a client would make them (the real client library lives in client/). */
export class HelperCalls {
  constructor(
    readonly url: string,
    readonly token = CLIENT_TOKEN,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.token}`, ...extra };
  }

  async check(body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${this.url}/helper/v1/check`, { method: 'POST', headers: this.headers({ 'content-type': 'application/json' }), body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  async patch(si: string, offset: number, body: Uint8Array): Promise<{ status: number; offset: number; text: string }> {
    const res = await fetch(`${this.url}/helper/v1/uploads/${si}`, {
      method: 'PATCH',
      headers: this.headers({ 'tus-resumable': '1.0.0', 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream' }),
      body,
    });
    return { status: res.status, offset: Number(res.headers.get('upload-offset') ?? -1), text: await res.text() };
  }

  async head(si: string): Promise<{ status: number; offset: number; length: number }> {
    const res = await fetch(`${this.url}/helper/v1/uploads/${si}`, { method: 'HEAD', headers: this.headers({ 'tus-resumable': '1.0.0' }) });
    return { status: res.status, offset: Number(res.headers.get('upload-offset') ?? -1), length: Number(res.headers.get('upload-length') ?? -1) };
  }

  async job(si: string): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${this.url}/helper/v1/jobs/${si}`, { headers: this.headers() });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  /** Polls the job until it is done or failed (or the time runs out). */
  async waitFor(si: string, states: string[] = ['done', 'failed'], timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const { json } = await this.job(si);
      if (states.includes(String(json.state))) return json;
      if (Date.now() > end) throw new Error(`job ${si} still ${String(json.state)} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** check + PATCH everything the helper asks for; returns the bytes sent. */
  async upload(f: PreparedFile, happy = 7): Promise<{ answer: Record<string, unknown>; sent: number }> {
    const { json } = await this.check(checkBody(f, happy));
    let sent = 0;
    if (json.status === 'send') {
      const offset = Number(json.offset);
      const res = await this.patch(f.si, offset, f.ciphertext.subarray(offset));
      sent += f.ciphertext.length - offset;
      if (res.status !== 204) throw new Error(`PATCH failed ${res.status} ${res.text}`);
    }
    return { answer: json, sent };
  }
}
