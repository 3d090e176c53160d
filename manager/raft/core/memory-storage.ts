import { CompactedError, None } from './types';
import type { ConfState, Entry, HardState, RaftStorage, Snapshot } from './types';

/**
 * The durable log kept in memory: what tests and the simulator persist Readys
 * into, and what the disk-backed storage keeps as its cache. The entry at
 * `compactedIndex` survives compaction only as its term, so the core can still
 * match an append that follows it.
 */
export class MemoryStorage implements RaftStorage {
  private hardState: HardState = { term: 0, vote: None, commit: 0 };
  private latestSnapshot: Snapshot;
  private compactedIndex = 0;
  private compactedTerm = 0;
  /** entries[i] has index compactedIndex + 1 + i. */
  private entryList: Entry[] = [];

  /** `initialConf` bootstraps a new cluster's membership (a snapshot at index 0). */
  constructor(initialConf: ConfState = { voters: [], learners: [] }) {
    this.latestSnapshot = {
      metadata: { index: 0, term: 0, confState: copyConf(initialConf) },
      data: new Uint8Array(),
    };
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hardState }, confState: copyConf(this.latestSnapshot.metadata.confState) };
  }

  entries(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    if (lo <= this.compactedIndex) throw new CompactedError(lo);
    if (hi > this.lastIndex() + 1) throw new Error(`entries [${lo}, ${hi}) beyond last index ${this.lastIndex()}`);
    const wanted = this.entryList.slice(lo - this.firstIndex(), hi - this.firstIndex());
    return limitSize(wanted, maxBytes);
  }

  term(index: number): number {
    if (index < this.compactedIndex) throw new CompactedError(index);
    if (index === this.compactedIndex) return this.compactedTerm;
    const entry = this.entryList[index - this.firstIndex()];
    if (entry === undefined) throw new Error(`term of ${index}: beyond last index ${this.lastIndex()}`);
    return entry.term;
  }

  firstIndex(): number {
    return this.compactedIndex + 1;
  }

  lastIndex(): number {
    return this.compactedIndex + this.entryList.length;
  }

  snapshot(): Snapshot {
    return this.latestSnapshot;
  }

  setHardState(hardState: HardState): void {
    this.hardState = { ...hardState };
  }

  /** Appends entries, replacing any suffix they conflict with; entries already compacted are skipped. */
  append(entries: readonly Entry[]): void {
    const fresh = entries.filter((entry) => entry.index > this.compactedIndex);
    const first = fresh[0];
    if (first === undefined) return;
    if (first.index > this.lastIndex() + 1) {
      throw new Error(`append at ${first.index} leaves a gap after last index ${this.lastIndex()}`);
    }
    this.entryList = this.entryList.slice(0, first.index - this.firstIndex()).concat(fresh);
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshot.metadata;
    if (index <= this.latestSnapshot.metadata.index && index !== 0) {
      throw new Error(`snapshot at ${index} is not newer than the one at ${this.latestSnapshot.metadata.index}`);
    }
    this.latestSnapshot = snapshot;
    this.compactedIndex = index;
    this.compactedTerm = term;
    this.entryList = [];
  }

  /** Records the application's state at `index` as the snapshot a lagging follower will receive. */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.latestSnapshot.metadata.index) {
      throw new Error(`snapshot at ${index} is not newer than the one at ${this.latestSnapshot.metadata.index}`);
    }
    if (index > this.lastIndex()) throw new Error(`snapshot at ${index} is beyond last index ${this.lastIndex()}`);
    this.latestSnapshot = { metadata: { index, term: this.term(index), confState: copyConf(confState) }, data };
    return this.latestSnapshot;
  }

  /**
   * Drops entries up to and including `index`. Only entries the snapshot
   * covers may go: a follower that needs them is sent the snapshot instead.
   */
  compact(index: number): void {
    if (index <= this.compactedIndex) return;
    if (index > this.latestSnapshot.metadata.index) {
      throw new Error(`cannot compact to ${index}: the snapshot only covers ${this.latestSnapshot.metadata.index}`);
    }
    this.compactedTerm = this.term(index);
    this.entryList = this.entryList.slice(index - this.compactedIndex);
    this.compactedIndex = index;
  }
}

/** A prefix of `entries` within `maxBytes` of data, but never empty when entries are. */
export function limitSize(entries: Entry[], maxBytes: number): Entry[] {
  let size = 0;
  for (let count = 0; count < entries.length; count++) {
    size += entries[count].data.length;
    if (count > 0 && size > maxBytes) return entries.slice(0, count);
  }
  return entries;
}

function copyConf(conf: ConfState): ConfState {
  return { voters: [...conf.voters], learners: [...conf.learners] };
}
