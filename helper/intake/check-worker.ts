/**
 * Worker-thread side of CheckValidator: parses and validates one raw check
 * body per message (parseCheckBody) and sends back the ValidCheck, its hashes
 * transferred, or the error as `{ code, message, details }`.
 */
import { parentPort } from 'node:worker_threads';
import { toErrorBody } from '../../runtime/http/errors.js';
import { parseCheckBody } from './check-request.js';
import type { CheckWorkerRequest, CheckWorkerResponse } from './check-worker-protocol.js';

const port = parentPort;
if (port === null) throw new Error('check-worker must run in a worker thread');

port.on('message', (req: CheckWorkerRequest) => {
  void answer(req).then(([res, transfer]) => port.postMessage(res, transfer));
});

async function answer(req: CheckWorkerRequest): Promise<[CheckWorkerResponse, ArrayBuffer[]]> {
  try {
    const check = await parseCheckBody(new Uint8Array(req.body), req.limits);
    const transfer = check.hashes.buffer instanceof ArrayBuffer ? [check.hashes.buffer] : [];
    return [{ id: req.id, ok: true, check }, transfer];
  } catch (err) {
    // Client errors keep their code and message; anything else is an internal error, without its stack.
    const { body } = toErrorBody(err);
    const { error, message, ...details } = body;
    return [{ id: req.id, ok: false, error: { code: error, message, details } }, []];
  }
}
