/**
 * The helper's events, published on `node:diagnostics_channel` the way undici
 * publishes `undici:request:*`: publishing costs a branch when nobody listens,
 * and metrics, the admin page or a test subscribe without the code that emits
 * knowing them.
 *
 * Several helpers may share one process (tests do), so every event carries the
 * `source` that emitted it: the helper's `EventSource` token. A subscriber
 * that belongs to one helper filters on it (see `subscribe`).
 */
import diagnostics from 'node:diagnostics_channel';

/** Identity of one helper (or one gateway, one repairer) in events. Compared by reference. */
export type EventSource = object;

/** Every event the helper publishes, by channel name (`ferry:<area>:<event>`). */
export interface HelperEvents {
  /** A check was answered. */
  'ferry:intake:check': { status: 'have-it' | 'send' | 'in-progress'; resumed: boolean };
  /** Verified ciphertext bytes were committed to a spool. */
  'ferry:intake:received': { si: string; bytes: number };
  /** A job finished: its shares are all pushed (upload) or regenerated (repair). */
  'ferry:jobs:done': { si: string; kind: 'upload' | 'repair'; seconds: number; size: number; pushedBytes: Record<string, number>; placement: Record<string, string> | undefined; pushed: readonly number[] };
  /** A share read (range or stream) to a storage server settled; `bytes` received, `error` set when it failed. */
  'ferry:grid:read': { server: string; bytes: number; error?: string };
  /** A copy was reported corrupt to its storage server. */
  'ferry:grid:corruption-report': { server: string; si: string; shnum: number };
  /** A share read failed and another share was used instead. */
  'ferry:gateway:share-failure': { server: string; shnum: number; kind: string };
  /** A gateway request started. */
  'ferry:gateway:request': { method: string };
  /** Plaintext bytes (and whole segments) sent to a gateway client. */
  'ferry:gateway:served': { bytes: number; segments: number };
  /** A gateway response was cut after its headers were sent. */
  'ferry:gateway:cut': { reason: string };
  /** Share locations were looked up (`cached`: answered from the short-lived cache). */
  'ferry:gateway:locate': { si: string; cached: boolean };
}

export type HelperEventName = keyof HelperEvents;
export type HelperEvent<N extends HelperEventName> = HelperEvents[N] & { source: EventSource };

const channels = new Map<string, diagnostics.Channel>();

function channelOf(name: HelperEventName): diagnostics.Channel {
  let ch = channels.get(name);
  if (!ch) channels.set(name, (ch = diagnostics.channel(name)));
  return ch;
}

/** Publishes `event` on `name` if anyone listens (the payload is built only then). */
export function publish<N extends HelperEventName>(name: N, source: EventSource, event: () => HelperEvents[N]): void {
  const ch = channelOf(name);
  if (ch.hasSubscribers) ch.publish({ ...event(), source });
}

/**
 * Subscribes to `name` for events from `source` only (or from every source
 * when `source` is undefined). Returns the unsubscribe function.
 */
export function subscribe<N extends HelperEventName>(name: N, source: EventSource | undefined, fn: (event: HelperEvent<N>) => void): () => void {
  const listener = (message: unknown) => {
    const event = message as HelperEvent<N>;
    if (source === undefined || event.source === source) fn(event);
  };
  diagnostics.subscribe(name, listener);
  return () => {
    diagnostics.unsubscribe(name, listener);
  };
}
