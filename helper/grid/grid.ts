/**
 * The helper's view of the storage grid: one client contract, one server
 * type, one way to name a copy of a share. StorageClient (storage/client.ts)
 * implements GridClient over HTTP; tests implement it in memory. Uploads,
 * the gateway, check and repair all speak to servers through it.
 */

export interface CallOpts {
  signal?: AbortSignal;
}

/** A ranged read as a stream: the bytes go straight into the reader's buffer. */
export interface ShareStream {
  /** The range actually served, `[start, end)` (end may be clamped to the share size). */
  start: number;
  end: number;
  body: AsyncIterable<Uint8Array> & { destroy(): void };
}

/** A write body that arrives while it is sent: exactly `length` bytes. */
export interface StreamedBody {
  stream: AsyncIterable<Uint8Array>;
  length: number;
}

/** What the helper needs from one storage server. */
export interface GridClient {
  info(opts?: CallOpts): Promise<{ serverId: string; availableSpace: number }>;
  list(si: string, opts?: CallOpts): Promise<number[]>;
  /** Bytes [start, end) of a share; fewer when the share ends first. */
  read(si: string, shnum: number, start: number, end: number, opts?: CallOpts): Promise<Uint8Array>;
  readStream(si: string, shnum: number, start: number, end: number, opts?: CallOpts): Promise<ShareStream>;
  allocate(
    si: string,
    shareSize: number,
    shareNumbers: number[],
    opts?: CallOpts,
  ): Promise<{ alreadyHave: number[]; allocated: number[]; missing: Record<string, [number, number][]> }>;
  /** Acknowledged only once the bytes are durable on the server. */
  write(si: string, shnum: number, offset: number, data: Uint8Array | StreamedBody, opts?: CallOpts): Promise<{ complete: boolean }>;
  reportCorruption(si: string, shnum: number, reason: string, opts?: CallOpts): Promise<unknown>;
  renewLease(si: string, opts?: CallOpts): Promise<{ expiresAt: number }>;
  /** Drops a partial share this helper was writing. */
  abort(si: string, shnum: number, opts?: CallOpts): Promise<void>;
  close(): Promise<void>;
}

export interface GridServer {
  /** Stable server id (from the server's info), used in share maps. */
  id: string;
  url: string;
  client: GridClient;
}

/** One copy of one share: share number `shnum` as stored on `server`. */
export interface ShareCopy {
  shnum: number;
  server: GridServer;
}

export function copyKey(shnum: number, serverId: string): string {
  return `${shnum}@${serverId}`;
}

/** Who holds what: shnum -> ids of the servers holding (or about to hold) it. */
export type ShareGraph = Map<number, Set<string>>;

export function addEdge(graph: ShareGraph, shnum: number, serverId: string): void {
  if (!graph.has(shnum)) graph.set(shnum, new Set());
  graph.get(shnum)!.add(serverId);
}

export function copyGraph(graph: ShareGraph): ShareGraph {
  return new Map([...graph].map(([s, set]) => [s, new Set(set)]));
}

export function shareMapOf(graph: ShareGraph): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [s, set] of [...graph].sort((a, b) => a[0] - b[0])) out[String(s)] = [...set].sort();
  return out;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
