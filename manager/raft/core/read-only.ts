import type { NodeId } from './types';

/** A linearizable read waiting for the leader to confirm it is still the leader. */
export interface PendingRead {
  /** The commit index when the request arrived: the read may be served once that is applied. */
  index: number;
  requestContext: string;
  /** The member that asked (the leader itself, or a follower that forwarded it). */
  from: NodeId;
  acks: Set<NodeId>;
}

/**
 * ReadIndex in its safe form (Raft thesis §6.4): the leader notes its commit
 * index, then a heartbeat round acknowledged by a quorum proves no newer leader
 * could have committed anything it does not know of.
 */
export class ReadOnly {
  private readonly pending = new Map<string, PendingRead>();
  /** Request contexts in arrival order. */
  private queue: string[] = [];

  add(index: number, requestContext: string, from: NodeId): void {
    if (this.pending.has(requestContext)) return;
    this.pending.set(requestContext, { index, requestContext, from, acks: new Set() });
    this.queue.push(requestContext);
  }

  /** Records that `id` answered the heartbeat round for `requestContext`; returns who has so far. */
  recordAck(id: NodeId, requestContext: string): ReadonlySet<NodeId> | undefined {
    const read = this.pending.get(requestContext);
    read?.acks.add(id);
    return read?.acks;
  }

  /**
   * Releases `requestContext` and every request queued before it: a quorum
   * acknowledging a later heartbeat round confirms the earlier ones too.
   */
  release(requestContext: string): PendingRead[] {
    const position = this.queue.indexOf(requestContext);
    if (position < 0) return [];
    const released = this.queue.slice(0, position + 1).map((context) => this.pending.get(context) as PendingRead);
    this.queue = this.queue.slice(position + 1);
    for (const read of released) this.pending.delete(read.requestContext);
    return released;
  }

  /** The newest request, whose context the next heartbeats carry. */
  lastRequestContext(): string | undefined {
    return this.queue[this.queue.length - 1];
  }
}
