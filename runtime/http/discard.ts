/**
 * Drops a response body that will not be read. Destroying an unread undici
 * body makes it emit an error nobody listens to (an unhandled
 * `UND_ERR_ABORTED`); dumping reads what little has arrived and closes it.
 */
export function discardBody(body: { dump(): Promise<void> }): void {
  body.dump().catch(() => undefined);
}
