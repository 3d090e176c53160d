import { limitSize } from './memory-storage';
import { CompactedError } from './types';
import type { Entry, RaftStorage, Snapshot } from './types';
import { Unstable } from './unstable';

/**
 * The node's whole log: what storage holds, overlaid by the unstable tail.
 * Invariant: applied ≤ committed ≤ lastIndex().
 */
export class RaftLog {
  readonly unstable: Unstable;
  committed: number;
  applied: number;

  constructor(readonly storage: RaftStorage) {
    this.unstable = new Unstable(storage.lastIndex() + 1);
    this.committed = storage.firstIndex() - 1;
    this.applied = storage.firstIndex() - 1;
  }

  firstIndex(): number {
    return this.unstable.firstIndexFromSnapshot() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.lastIndex() ?? this.storage.lastIndex();
  }

  /** The last index this node has persisted (0 while a received snapshot is not yet durable). */
  lastStableIndex(): number {
    if (this.unstable.snapshot !== undefined) return 0;
    return this.unstable.entries.length > 0 ? this.unstable.offset - 1 : this.storage.lastIndex();
  }

  /** The term at `index`, or undefined when the log no longer (or does not yet) hold it. */
  term(index: number): number | undefined {
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return undefined;
    const unstableTerm = this.unstable.term(index);
    if (unstableTerm !== undefined) return unstableTerm;
    try {
      return this.storage.term(index);
    } catch (error) {
      if (error instanceof CompactedError) return undefined;
      throw error;
    }
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** §5.4.1: a candidate whose log is at least as up to date as ours may get our vote. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    return lastTerm > this.lastTerm() || (lastTerm === this.lastTerm() && lastIndex >= this.lastIndex());
  }

  /**
   * §5.3: accepts the leader's entries following (index, logTerm) if our log
   * holds that entry; returns the last index the append covers, or undefined
   * when the logs do not match there.
   */
  maybeAppend(index: number, logTerm: number, leaderCommit: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNewIndex = index + entries.length;
    const conflictIndex = this.findConflict(entries);
    if (conflictIndex !== 0) {
      if (conflictIndex <= this.committed) {
        throw new Error(`entry ${conflictIndex} conflicts with the committed log (commit ${this.committed})`);
      }
      this.append(entries.slice(conflictIndex - (index + 1)));
    }
    this.commitTo(Math.min(leaderCommit, lastNewIndex));
    return lastNewIndex;
  }

  append(entries: readonly Entry[]): number {
    const first = entries[0];
    if (first === undefined) return this.lastIndex();
    if (first.index - 1 < this.committed) {
      throw new Error(`appending at ${first.index} would overwrite committed entries (commit ${this.committed})`);
    }
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  /** The first entry whose term differs from ours (or that we lack), or 0 when all match. */
  findConflict(entries: readonly Entry[]): number {
    for (const entry of entries) {
      if (!this.matchTerm(entry.index, entry.term)) return entry.index;
    }
    return 0;
  }

  /**
   * The last entry at or before `index` whose term is ≤ `term`: no entry in
   * between can match a log whose entry at `index` has `term`, so the leader
   * may skip them all at once when probing a follower.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let candidate = Math.min(index, this.lastIndex()); candidate > 0; candidate--) {
      const candidateTerm = this.term(candidate);
      if (candidateTerm === undefined) return { index: candidate, term: 0 };
      if (candidateTerm <= term) return { index: candidate, term: candidateTerm };
    }
    return { index: 0, term: 0 };
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) throw new Error(`commit ${index} is beyond last index ${this.lastIndex()}`);
    this.committed = index;
  }

  /** Commits up to `index` only if that entry is of `term` (§5.4.2: only the leader's own term by counting). */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.term(index) === term) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    if (index > this.committed || index < this.applied) {
      throw new Error(`applied ${index} outside [${this.applied}, ${this.committed}]`);
    }
    this.applied = index;
  }

  /** Committed entries not yet applied, limited to those persisted here. */
  nextCommittedEntries(): Entry[] {
    if (this.unstable.snapshot !== undefined) return [];
    const highest = Math.min(this.committed, this.lastStableIndex());
    return highest > this.applied ? this.slice(this.applied + 1, highest + 1) : [];
  }

  hasNextCommittedEntries(): boolean {
    return this.unstable.snapshot === undefined && Math.min(this.committed, this.lastStableIndex()) > this.applied;
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapshotTo(index: number): void {
    this.unstable.stableSnapshotTo(index);
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Replaces the log with a leader's snapshot; everything up to it counts as committed. */
  restore(snapshot: Snapshot): void {
    this.committed = snapshot.metadata.index;
    this.unstable.restore(snapshot);
  }

  /** Entries [lo, hi), at most maxBytes of data (at least one entry); throws CompactedError below firstIndex. */
  slice(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    if (lo < this.firstIndex()) throw new CompactedError(lo);
    if (hi > this.lastIndex() + 1 || lo > hi) {
      throw new Error(`slice [${lo}, ${hi}) out of bounds [${this.firstIndex()}, ${this.lastIndex() + 1})`);
    }
    const split = Math.max(lo, Math.min(hi, this.unstable.offset));
    const stored = lo < split ? this.storage.entries(lo, split, maxBytes) : [];
    if (split === hi || stored.length < split - lo) return stored;
    return limitSize(stored.concat(this.unstable.slice(split, hi)), maxBytes);
  }
}
