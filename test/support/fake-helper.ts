import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { MerkleTree, splitHashes } from '../../core/merkle.js';
import { fileGeometry } from '../../core/params.js';
import { encodeUeb, uebHash } from '../../core/ueb.js';

export type Tamper = 'crypttext-root' | 'ueb-hash' | 'k' | 'none';

/**
 * A helper test double that speaks the client protocol and takes the whole
 * upload, but answers with a result it made up: a UEB over a wrong crypttext
 * root, a uebHash that is not the UEB's, or other parameters.
 */
export async function startFakeHelper(o: { tamper: Tamper; answer: 'have-it' | 'send'; token: string }): Promise<{ url: string; patches: number; close(): Promise<void> }> {
  let result: { ueb: string; uebHash: string; shareMap: Record<string, string[]>; happiness: number } | undefined;
  let size = 0;
  const state = { patches: 0 };
  const server = http.createServer((req, res) => {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${o.token}`) return json(401, { error: 'UNAUTHORIZED', message: 'invalid bearer token' });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '';
      if (req.method === 'GET' && url === '/helper/v1/info') {
        return json(200, { protocolVersion: 1, defaults: { k: 3, happy: 7, n: 10, maxSegmentSize: 65536 }, maxFileSize: 2 ** 40, servers: 10 });
      }
      if (req.method === 'POST' && url === '/helper/v1/check') {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { storageIndex: string; size: number; k: number; n: number; maxSegmentSize: number; segmentHashes: string };
        size = body.size;
        const g = fileGeometry(body.size, body);
        const root = new MerkleTree(splitHashes(Buffer.from(body.segmentHashes, 'base64'))).root;
        const ueb = encodeUeb({
          k: o.tamper === 'k' ? g.k + 1 : g.k,
          n: g.n,
          size: g.size,
          segmentSize: o.tamper === 'k' ? fileGeometry(body.size, { ...body, k: g.k + 1 }).segmentSize : g.segmentSize,
          numSegments: o.tamper === 'k' ? fileGeometry(body.size, { ...body, k: g.k + 1 }).numSegments : g.numSegments,
          crypttextRoot: o.tamper === 'crypttext-root' ? randomBytes(32) : root,
          shareRoot: randomBytes(32),
        });
        const hash = o.tamper === 'ueb-hash' ? randomBytes(32) : uebHash(ueb);
        result = { ueb: ueb.toString('base64'), uebHash: hash.toString('hex'), shareMap: { '0': ['s0'] }, happiness: 10 };
        if (o.answer === 'have-it') return json(200, { status: 'have-it', storageIndex: body.storageIndex, ...result });
        return json(200, { status: 'send', storageIndex: body.storageIndex, uploadPath: `/helper/v1/uploads/${body.storageIndex}`, offset: 0, missing: [[0, size]], segmentSize: g.segmentSize });
      }
      if (req.method === 'PATCH' && url.startsWith('/helper/v1/uploads/')) {
        state.patches++;
        const offset = Number(req.headers['upload-offset']) + Buffer.concat(chunks).length;
        res.writeHead(204, { 'upload-offset': String(offset), 'tus-resumable': '1.0.0' });
        return res.end();
      }
      if (req.method === 'GET' && url.startsWith('/helper/v1/jobs/')) {
        const si = url.split('/').pop();
        return json(200, { storageIndex: si, state: 'done', received: size, segmentsEncoded: 1, pushedBytes: {}, attempts: 1, result });
      }
      json(404, { error: 'NOT_FOUND', message: `no route for ${req.method} ${url}` });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get patches() {
      return state.patches;
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
