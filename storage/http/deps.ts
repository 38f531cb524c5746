import type { ShareStore } from '../store/types.js';

/** What the route handlers are built from (injected by createStorageApp). */
export interface HandlerDeps {
  store: ShareStore;
  /** Largest body one PATCH may carry. */
  maxWriteSize: number;
  applicationVersion: string;
}
