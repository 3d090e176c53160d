import { Progress } from './progress';
import type { ConfChange, ConfState, NodeId } from './types';

export type VoteResult = 'won' | 'lost' | 'pending';

/**
 * The membership (voters decide, learners only receive the log), the leader's
 * progress per member, and the votes of the election under way.
 */
export class ProgressTracker {
  private voters = new Set<NodeId>();
  private learners = new Set<NodeId>();
  readonly progress = new Map<NodeId, Progress>();
  private votes = new Map<NodeId, boolean>();

  constructor(
    conf: ConfState,
    private readonly maxInflight: number,
  ) {
    this.restore(conf, 1);
  }

  /** Replaces the membership (from storage or a snapshot); every progress starts over at `next`. */
  restore(conf: ConfState, next: number): void {
    this.voters = new Set(conf.voters);
    this.learners = new Set(conf.learners.filter((id) => !this.voters.has(id)));
    this.progress.clear();
    for (const id of [...this.voters, ...this.learners]) this.progress.set(id, new Progress(next, this.maxInflight));
  }

  /** A new term: the leader knows nothing yet of where anyone's log ends. */
  resetProgress(next: number): void {
    for (const id of this.progress.keys()) this.progress.set(id, new Progress(next, this.maxInflight));
  }

  confState(): ConfState {
    return { voters: [...this.voters], learners: [...this.learners] };
  }

  isVoter(id: NodeId): boolean {
    return this.voters.has(id);
  }

  isMember(id: NodeId): boolean {
    return this.voters.has(id) || this.learners.has(id);
  }

  voterIds(): NodeId[] {
    return [...this.voters];
  }

  voterCount(): number {
    return this.voters.size;
  }

  /** Applies one membership change; new members start probing at `next`. Returns false when it changes nothing. */
  apply(change: ConfChange, next: number): boolean {
    const { nodeId } = change;
    switch (change.type) {
      case 'addVoter':
        if (this.voters.has(nodeId)) return false;
        this.learners.delete(nodeId);
        this.voters.add(nodeId);
        break;
      case 'addLearner':
        // Demoting a voter is not a single-step change; refuse it.
        if (this.isMember(nodeId)) return false;
        this.learners.add(nodeId);
        break;
      case 'removeNode':
        if (!this.isMember(nodeId)) return false;
        this.voters.delete(nodeId);
        this.learners.delete(nodeId);
        this.progress.delete(nodeId);
        return true;
    }
    if (!this.progress.has(nodeId)) this.progress.set(nodeId, new Progress(next, this.maxInflight));
    return true;
  }

  /** The highest index a quorum of voters holds. */
  committedIndex(): number {
    const matches = this.voterIds()
      .map((id) => this.progress.get(id)?.match ?? 0)
      .sort((a, b) => b - a);
    return matches[this.quorum() - 1] ?? 0;
  }

  quorum(): number {
    return Math.floor(this.voters.size / 2) + 1;
  }

  hasQuorum(ids: ReadonlySet<NodeId>): boolean {
    return this.voterIds().filter((id) => ids.has(id)).length >= this.quorum();
  }

  /** Whether a quorum of voters (`self` included) was heard from since the last reset. */
  quorumActive(self: NodeId): boolean {
    const active = new Set<NodeId>([self]);
    for (const [id, progress] of this.progress) if (progress.recentActive) active.add(id);
    return this.hasQuorum(active);
  }

  resetRecentActive(): void {
    for (const progress of this.progress.values()) progress.recentActive = false;
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records a voter's first answer in this election and tallies; learners' answers do not count. */
  recordVote(id: NodeId, granted: boolean): VoteResult {
    if (this.voters.has(id) && !this.votes.has(id)) this.votes.set(id, granted);
    const granting = [...this.votes.values()].filter((vote) => vote).length;
    const rejecting = this.votes.size - granting;
    if (granting >= this.quorum()) return 'won';
    if (rejecting > this.voters.size - this.quorum()) return 'lost';
    return 'pending';
  }
}
