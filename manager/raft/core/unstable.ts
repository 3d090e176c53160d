import type { Entry, Snapshot } from './types';

/**
 * The tail of the log not yet handed to storage: entries from `offset` on and
 * possibly a snapshot received from the leader. A Ready carries them out; the
 * driver persists them; advance() marks them stable and they leave this part.
 */
export class Unstable {
  snapshot: Snapshot | undefined = undefined;
  entries: Entry[] = [];

  constructor(public offset: number) {}

  firstIndexFromSnapshot(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index + 1;
  }

  lastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.metadata.index;
  }

  term(index: number): number | undefined {
    if (index < this.offset) {
      return this.snapshot?.metadata.index === index ? this.snapshot.metadata.term : undefined;
    }
    return this.entries[index - this.offset]?.term;
  }

  /** Entries up to `index` were persisted — unless a newer leader has since replaced them. */
  stableTo(index: number, term: number): void {
    if (index < this.offset || this.term(index) !== term) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  stableSnapshotTo(index: number): void {
    if (this.snapshot?.metadata.index === index) this.snapshot = undefined;
  }

  restore(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.entries = [];
    this.offset = snapshot.metadata.index + 1;
  }

  /** Appends entries, dropping whatever they overwrite (the caller checked they may). */
  truncateAndAppend(entries: readonly Entry[]): void {
    const after = entries[0]?.index;
    if (after === undefined) return;
    if (after === this.offset + this.entries.length) {
      this.entries = this.entries.concat(entries);
    } else if (after <= this.offset) {
      this.offset = after;
      this.entries = [...entries];
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(entries);
    }
  }

  /** Entries [lo, hi), all of which lie in this part. */
  slice(lo: number, hi: number): Entry[] {
    const last = this.offset + this.entries.length;
    if (lo < this.offset || hi > last || lo > hi) {
      throw new Error(`unstable slice [${lo}, ${hi}) out of bounds [${this.offset}, ${last})`);
    }
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
