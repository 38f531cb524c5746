import { randomBytes } from 'node:crypto';

const MAX_TICKETS = 1000;

/**
 * Short-lived, single-use tickets for the event stream: EventSource cannot
 * send an Authorization header, and the admin token must never appear in a
 * URL. A client with the token asks for a ticket (POST, bearer auth) and
 * opens the stream with `?ticket=`; the ticket works once, within its lifetime.
 */
export class TicketStore {
  private readonly tickets = new Map<string, number>();

  constructor(
    readonly ttlMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  issue(): { ticket: string; expiresAt: number } {
    this.prune();
    while (this.tickets.size >= MAX_TICKETS) this.tickets.delete(this.tickets.keys().next().value!);
    const ticket = randomBytes(32).toString('base64url');
    const expiresAt = this.now() + this.ttlMs;
    this.tickets.set(ticket, expiresAt);
    return { ticket, expiresAt };
  }

  /** True (once) for a ticket issued less than ttlMs ago. */
  redeem(ticket: unknown): boolean {
    if (typeof ticket !== 'string' || ticket.length > 100) return false;
    const expiresAt = this.tickets.get(ticket);
    if (expiresAt === undefined) return false;
    this.tickets.delete(ticket);
    return expiresAt > this.now();
  }

  private prune(): void {
    const now = this.now();
    for (const [t, exp] of this.tickets) if (exp <= now) this.tickets.delete(t);
  }
}
