import { Inflights } from './inflights';

/**
 * probe: we do not know where the follower's log matches ours; send one append
 * at a time and wait for its answer. replicate: it matches up to `match`; stream
 * appends optimistically within the in-flight window. snapshot: it needs entries
 * we compacted; wait until the snapshot is installed or reported failed.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** The leader's view of one follower's log. */
export class Progress {
  /** The highest index known to be in the follower's log. */
  match = 0;
  /** The next index to send. */
  next: number;
  state: ProgressState = 'probe';
  /** In snapshot state: the index of the snapshot sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** In probe state: an append was sent and its answer (or a heartbeat answer) is awaited. */
  probeSent = false;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  becomeProbe(): void {
    // After a snapshot the follower holds at least what the snapshot covered.
    const floor = this.state === 'snapshot' ? Math.max(this.match, this.pendingSnapshot) : this.match;
    this.resetState('probe');
    this.next = floor + 1;
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** The follower acknowledged up to `index`; returns whether that was news. */
  maybeUpdate(index: number): boolean {
    this.next = Math.max(this.next, index + 1);
    if (index <= this.match) return false;
    this.match = index;
    this.probeSent = false;
    return true;
  }

  /** An append ending at `lastIndex` carrying `count` entries went out. */
  sentEntries(count: number, lastIndex: number): void {
    if (this.state === 'replicate' && count > 0) {
      this.next = lastIndex + 1;
      this.inflights.add(lastIndex);
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  /**
   * The follower rejected the append after `rejected`; `matchHint` is where
   * our logs may match. Returns false when the rejection is stale.
   */
  maybeDecrementTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.inflights.reset();
  }
}
