/** Why an attach left the tracker without every hosting node confirming it. */
export type UnconfirmedReason = 'expired' | 'overflow' | 'abandoned';

export interface AttachTrackerOptions {
  /** Milliseconds on a monotonic clock; injected so tests need no timers. */
  now(): number;
  /** An attach every hosting node has programmed, `seconds` after it was applied. */
  confirmed(seconds: number): void;
  /** An attach given up on; counted so that the histogram's silence is not read as speed. */
  unconfirmed(reason: UnconfirmedReason): void;
  /** Oldest pending attaches are dropped beyond this many, so a node that never reports cannot grow memory. */
  maxPending?: number;
  /** Pending attaches older than this are dropped (a down node may never report). */
  maxAgeMs?: number;
}

interface PendingAttach {
  revision: number;
  appliedAt: number;
  /** Hosting nodes that have not yet reported a revision ≥ `revision`. */
  waiting: Set<string>;
  done: boolean;
}

/**
 * Measures attach→programmed convergence: from the apply of a connect until
 * every node hosting its network reports having programmed a revision at
 * least as new. Pure bookkeeping: the clock and the outputs are injected.
 *
 * Each node has a queue of the attaches it still owes, in revision order
 * (attaches arrive in apply order), so a report only touches what it settles.
 */
export class AttachTracker {
  /** Insertion order is apply order, hence also age order: expiry and overflow drop from the front. */
  private readonly pending: PendingAttach[] = [];
  private readonly owedBy = new Map<string, PendingAttach[]>();
  /** The newest revision each node reported, so an attach already covered is settled at once. */
  private readonly reported = new Map<string, number>();
  private readonly maxPending: number;
  private readonly maxAgeMs: number;

  constructor(private readonly options: AttachTrackerOptions) {
    this.maxPending = options.maxPending ?? 10_000;
    this.maxAgeMs = options.maxAgeMs ?? 60_000;
  }

  /** How many attaches await confirmation. */
  get size(): number {
    return this.pending.length;
  }

  /** A connect applied at store `revision`; `hostingNodes` are the ids of the nodes with an endpoint in its network. */
  attached(hostingNodes: Iterable<string>, revision: number): void {
    this.expire();
    const now = this.options.now();
    const waiting = new Set([...hostingNodes].filter((node) => (this.reported.get(node) ?? -1) < revision));
    if (waiting.size === 0) {
      this.options.confirmed(0);
      return;
    }
    const attach: PendingAttach = { revision, appliedAt: now, waiting, done: false };
    this.pending.push(attach);
    for (const node of waiting) {
      const owed = this.owedBy.get(node) ?? [];
      owed.push(attach);
      this.owedBy.set(node, owed);
    }
    while (this.pending.length > this.maxPending) this.drop('overflow');
  }

  /** `node` reported having programmed everything up to `revision`. */
  programmed(node: string, revision: number): void {
    this.expire();
    if (revision > (this.reported.get(node) ?? -1)) this.reported.set(node, revision);
    const owed = this.owedBy.get(node);
    if (!owed) return;
    const now = this.options.now();
    while (owed.length > 0) {
      const attach = owed[0];
      if (!attach.done && attach.revision > revision) break;
      owed.shift();
      if (attach.done) continue;
      attach.waiting.delete(node);
      if (attach.waiting.size > 0) continue;
      attach.done = true;
      this.removePending(attach);
      this.options.confirmed((now - attach.appliedAt) / 1000);
    }
    if (owed.length === 0) this.owedBy.delete(node);
  }

  /** Drops attaches older than the age limit; also called on scrape so that an idle leader still reports them. */
  expire(): void {
    const oldest = this.options.now() - this.maxAgeMs;
    while (this.pending.length > 0 && this.pending[0].appliedAt < oldest) this.drop('expired');
  }

  /** Leadership moved: reports now go to another manager, so nothing pending here can be confirmed. */
  abandon(): void {
    while (this.pending.length > 0) this.drop('abandoned');
    this.owedBy.clear();
    this.reported.clear();
  }

  private drop(reason: UnconfirmedReason): void {
    const attach = this.pending.shift();
    if (!attach) return;
    attach.done = true;
    // The dropped attach is the oldest, so it heads each queue that still holds it: trim those now
    // rather than leave dead entries behind for a node that may never report again.
    for (const node of attach.waiting) this.trim(node);
    this.options.unconfirmed(reason);
  }

  private trim(node: string): void {
    const owed = this.owedBy.get(node);
    if (!owed) return;
    while (owed.length > 0 && owed[0].done) owed.shift();
    if (owed.length === 0) this.owedBy.delete(node);
  }

  /** Confirmations settle nearly in apply order, so the attach is almost always found near the front. */
  private removePending(attach: PendingAttach): void {
    const index = this.pending.indexOf(attach);
    if (index >= 0) this.pending.splice(index, 1);
  }
}
