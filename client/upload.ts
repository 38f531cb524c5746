import { open, realpath, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { base32Decode, base32Encode } from '../core/base32.js';
import { formatReadCap, formatVerifyCap } from '../core/capability.js';
import { cipherReady } from '../core/crypto/cipher.js';
import { FerryError } from '../core/errors.js';
import { MerkleTree, splitHashes } from '../core/merkle.js';
import { fileGeometry, type FileGeometry } from '../core/params.js';
import { formatStorageIndex, storageIndexFromKey } from '../core/storage-index.js';
import type { CheckRequest, JobResultView } from '../helper/protocol.js';
import { defaultStateDir, findHome } from './config.js';
import { hashFile } from './hash-file.js';
import { HelperApi } from './helper-api.js';
import { createAgent, type HelperError } from './http.js';
import { Journal, sameIdentity, transferId, type FileIdentity, type KeyMode, type TransferRecord } from './journal.js';
import { resolveParams, type ParamChoice, type ResolvedParams } from './params.js';
import { backoffDelay, CONNECT_RETRIES, DEFAULT_RETRY, sleep, throwIfAborted, type RetryPolicy } from './retry.js';
import { JOURNAL_DIR, loadConvergenceSecret } from './state-dir.js';
import { sendCiphertext } from './tus-upload.js';
import { spoolInput, type UploadInput } from './upload-input.js';
import { verifyHelperResult } from './verify-result.js';
import { waitForJob } from './wait-job.js';

export type UploadPhase = 'hashing' | 'checking' | 'uploading' | 'encoding' | 'done';

export interface UploadProgress {
  phase: UploadPhase;
  bytes: number;
  total: number;
  /** The helper's job state during 'encoding'. */
  state?: string;
}

export interface UploadOptions extends ParamChoice {
  helperUrl: string;
  token: string;
  /**
   * Private client state: convergence secret, transfer journal, spooled
   * inputs (created 0700). Default as for the CLI: FERRY_STATE_DIR, else
   * HOME/client-state when a Ferry home is found, else `$XDG_STATE_HOME/ferry`.
   */
  stateDir?: string;
  /** A fresh random key instead of the convergent one (no deduplication). */
  randomKey?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: UploadProgress) => void;
  /** A transient failure about to be retried. */
  onRetry?: (err: FerryError, failure: number, of: number) => void;
  /** The helper already holds `offset` bytes of this upload (an earlier run): sending resumes there. */
  onResume?: (offset: number, size: number) => void;
  /** The helper's job failed an attempt it will retry (its lastError), once per new message. */
  onJobError?: (lastError: string, attempts: number, nextAttemptAt?: number) => void;
  /** Bytes per tus PATCH (default 32 MiB, whole segments). */
  chunkSize?: number;
  /** Cut and retry a PATCH idle this long (default 30 s). */
  stallTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Stop waiting for the helper's encode and push after this long without progress (default 15 min). */
  jobIdleTimeoutMs?: number;
  /** Longest pause between job polls (default 2 s). */
  pollIntervalMs?: number;
}

export interface UploadResult {
  cap: string;
  verifyCap: string;
  storageIndex: string;
  size: number;
  k: number;
  n: number;
  happy: number;
  maxSegmentSize: number;
  keyMode: KeyMode;
  outcome: 'uploaded' | 'already-present';
  /** False when the key and segment hashes came from the journal (a resumed transfer). */
  hashed: boolean;
  /** The helper's verified offset when this run started sending (0 = from scratch). */
  resumedFrom: number;
  /** Ciphertext bytes this run handed to the network (re-sent ones included). */
  sentBytes: number;
  happiness: number;
  shareMap: Record<string, string[]>;
  elapsedMs: number;
}

const MAX_ROUNDS = 5;

/**
 * Uploads a file (a path, bytes or a stream: see UploadInput) through a
 * helper and returns its read-cap, only after verifying the helper's result
 * against hashes computed here.
 *
 * Resume: a path is resumable across process restarts through the journal
 * in `stateDir` (an unchanged file is not hashed again). Bytes and streams
 * are spooled to a private file first; within one call the upload resumes
 * like a file's, and a later call with the same bytes (convergent key)
 * sends only what the helper does not hold yet — but the stream itself must
 * be supplied again, and is read and hashed again.
 */
export async function upload(input: UploadInput, options: UploadOptions): Promise<UploadResult> {
  const o = { ...options, stateDir: options.stateDir ?? defaultStateDir(await findHome({})) };
  if (typeof input === 'string') return uploadFile(input, o, false);
  const spooled = await spoolInput(input, o.stateDir, o.signal);
  try {
    return await uploadFile(spooled.path, o, true);
  } finally {
    await spooled.remove();
  }
}

/** `ephemeral`: a spool file, never seen again, so its journal record goes whatever the outcome. */
async function uploadFile(filePath: string, o: UploadOptions & { stateDir: string }, ephemeral: boolean): Promise<UploadResult> {
  const started = Date.now();
  throwIfAborted(o.signal);
  const retry = { ...DEFAULT_RETRY, ...o.retry };
  const agent = createAgent(o.helperUrl);
  const ctx = { agent, token: o.token, signal: o.signal, retry, onRetry: o.onRetry };
  const api = new HelperApi(o.helperUrl, ctx);
  const journal = new Journal(path.join(o.stateDir, JOURNAL_DIR));
  const keyMode: KeyMode = o.randomKey ? 'random' : 'convergent';
  const progress = (phase: UploadPhase, bytes: number, total: number, state?: string) => o.onProgress?.({ phase, bytes, total, ...(state ? { state } : {}) });
  let fh: FileHandle | undefined;
  let id: string | undefined;
  try {
    // A short retry budget here: a helper that is not there at all should fail fast.
    const info = () => new HelperApi(o.helperUrl, { ...ctx, retry: { ...retry, attempts: Math.min(CONNECT_RETRIES, retry.attempts) } }).info();
    await cipherReady(); // the cipher is needed even when the journal spares us hashing
    fh = await openRegularFile(filePath);
    const params = await resolveParams(o, info);
    const st = await fh.stat();
    const identity: FileIdentity = { path: await realpath(filePath), size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, dev: st.dev };
    if (params.maxFileSize !== undefined && st.size > params.maxFileSize) {
      throw new FerryError('PAYLOAD_TOO_LARGE', `${filePath} is ${st.size} bytes; this helper accepts at most ${params.maxFileSize}`);
    }
    const geometry = fileGeometry(st.size, params.encoding);
    id = transferId(identity.path, params.encoding, keyMode);

    // 1-2. Key and segment hashes: from the journal if the file is unchanged, else two passes.
    const { key, hashes, hashed } = await keyAndHashes({ journal, id, identity, fh, filePath, geometry, params, keyMode, helperUrl: api.base, o, progress });
    const si = formatStorageIndex(storageIndexFromKey(key));
    const crypttextRoot = new MerkleTree(splitHashes(hashes)).root;
    const checkBody: CheckRequest = { storageIndex: si, size: st.size, ...params.encoding, happy: params.happy, segmentHashes: hashes.toString('base64') };

    // 3. Check, send what is missing, wait for the helper's encode and push.
    let resumedFrom: number | undefined;
    let sentBytes = 0;
    let result: JobResultView | undefined;
    let outcome: UploadResult['outcome'] = 'already-present';
    for (let round = 0; !result; round++) {
      if (round >= MAX_ROUNDS) throw new FerryError('UPSTREAM_ERROR', `the helper keeps losing the upload of ${si}; gave up after ${MAX_ROUNDS} rounds`);
      if (round > 0) await sleep(backoffDelay(retry, round), o.signal);
      progress('checking', 0, st.size);
      const answer = await api.check(checkBody);
      if (answer.status === 'have-it') {
        result = answer;
        break;
      }
      outcome = 'uploaded';
      if (answer.status === 'send') {
        const uploadUrl = api.resolve(answer.uploadPath);
        if (answer.offset > 0 && round === 0) o.onResume?.(answer.offset, st.size);
        await journal.update(id, { state: 'uploading', helperUrl: api.base, uploadUrl, offset: answer.offset });
        try {
          const stats = await sendCiphertext({
            agent,
            token: o.token,
            uploadUrl,
            fh,
            path: filePath,
            key,
            geometry,
            segmentHashes: hashes,
            startOffset: answer.offset,
            chunkSize: o.chunkSize ?? 32 * 1024 * 1024,
            stallTimeoutMs: o.stallTimeoutMs ?? 30_000,
            retry,
            signal: o.signal,
            onProgress: (confirmed, inFlight) => progress('uploading', confirmed + inFlight, st.size),
            onRetry: o.onRetry,
          });
          sentBytes += stats.sentBytes;
          resumedFrom ??= stats.firstOffset;
        } catch (err) {
          if (err instanceof FerryError && err.code === 'NOT_FOUND') continue; // the helper dropped the spool: check again
          if (err instanceof FerryError && err.details?.fileChanged) await journal.delete(id).catch(() => undefined);
          throw err;
        }
      }
      await journal.update(id, { state: 'encoding', offset: st.size });
      const job = await waitForJob(api, si, geometry, {
        signal: o.signal,
        idleTimeoutMs: o.jobIdleTimeoutMs ?? 15 * 60_000,
        maxIntervalMs: o.pollIntervalMs ?? 2_000,
        what: filePath,
        onProgress: (bytes, state) => progress('encoding', bytes, st.size, state),
        onJobError: (lastError, job) => o.onJobError?.(lastError, job.attempts, job.nextAttemptAt),
      });
      result = job?.result; // no result: the job went back to receiving or away; check again
    }

    // 4. Trust nothing the helper says until it matches what we computed.
    let uebHash: Buffer;
    try {
      uebHash = verifyHelperResult(result, { geometry, crypttextRoot });
    } catch (err) {
      await journal.update(id, { state: 'failed', lastError: (err as Error).message }).catch(() => undefined);
      throw err;
    }
    const k = geometry.k;
    const n = geometry.n;
    const cap = formatReadCap({ key, uebHash, k, n, size: st.size });
    await journal.delete(id);
    progress('done', st.size, st.size);
    return {
      cap,
      verifyCap: formatVerifyCap({ storageIndex: storageIndexFromKey(key), uebHash, k, n, size: st.size }),
      storageIndex: si,
      size: st.size,
      k,
      n,
      happy: params.happy,
      maxSegmentSize: params.encoding.maxSegmentSize,
      keyMode,
      outcome,
      hashed,
      resumedFrom: resumedFrom ?? 0,
      sentBytes,
      happiness: result.happiness,
      shareMap: result.shareMap,
      elapsedMs: Date.now() - started,
    };
  } catch (err) {
    if (id && ephemeral) {
      await journal.delete(id).catch(() => undefined);
    } else if (id && !o.signal?.aborted && err instanceof Error && !(err as HelperError).details?.fileChanged) {
      await journal.update(id, { lastError: err.message }).catch(() => undefined);
    }
    throw err;
  } finally {
    await fh?.close().catch(() => undefined);
    await agent.destroy().catch(() => undefined);
  }
}

/** The journaled key and hashes of an unchanged file, or both hashing passes (journaled before anything is sent). */
async function keyAndHashes(a: {
  journal: Journal;
  id: string;
  identity: FileIdentity;
  fh: FileHandle;
  filePath: string;
  geometry: FileGeometry;
  params: ResolvedParams;
  keyMode: KeyMode;
  helperUrl: string;
  o: UploadOptions & { stateDir: string };
  progress: (phase: UploadPhase, bytes: number, total: number) => void;
}): Promise<{ key: Uint8Array; hashes: Buffer; hashed: boolean }> {
  const { journal, id, identity, fh, params } = a;
  const size = identity.size;
  const prior = await journal.get(id);
  if (prior?.record.key && prior.hashes && sameIdentity(prior.record.file, identity) && prior.hashes.length === a.geometry.numSegments * 32) {
    return { key: base32Decode(prior.record.key, 32, 'INVALID_PARAMETERS', 'journaled key'), hashes: Buffer.from(prior.hashes), hashed: false };
  }
  const secret = a.keyMode === 'convergent' ? await loadConvergenceSecret(a.o.stateDir) : undefined;
  const now = Date.now();
  const record: TransferRecord = { id, file: identity, params: params.encoding, happy: params.happy, keyMode: a.keyMode, state: 'hashing', helperUrl: a.helperUrl, createdAt: now, updatedAt: now };
  await journal.put(record);
  // Reported in bytes of the file (both passes together), so rate and ETA mean what a user expects.
  a.progress('hashing', 0, size);
  const onBytes = (d: number, t: number) => a.progress('hashing', Math.round((d / t) * size), size);
  const { key, hashes } = await hashFile({ fh, size, params: params.encoding, secret, signal: a.o.signal, onBytes });
  const after = await fh.stat();
  if (after.size !== size || after.mtimeMs !== identity.mtimeMs) throw new FerryError('CONFLICT', `${a.filePath} changed while it was being hashed; try again once it is complete`);
  await journal.put({ ...record, state: 'hashed', key: base32Encode(key), storageIndex: formatStorageIndex(storageIndexFromKey(key)), updatedAt: Date.now() }, hashes);
  return { key, hashes, hashed: true };
}

async function openRegularFile(filePath: string): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(filePath, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new FerryError('NOT_FOUND', `${filePath}: no such file`);
    if (e.code === 'EACCES') throw new FerryError('FORBIDDEN', `${filePath}: permission denied`);
    if (e.code === 'EISDIR') throw new FerryError('INVALID_PARAMETERS', `${filePath} is a directory; ferry uploads single files`);
    throw err;
  }
  if (!(await fh.stat()).isFile()) {
    await fh.close();
    throw new FerryError('INVALID_PARAMETERS', `${filePath} is not a regular file`);
  }
  return fh;
}

