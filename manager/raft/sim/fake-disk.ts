import { None } from '../core';
import type { ConfState, Entry, HardState, Snapshot } from '../core';

/** What survives a crash: the synced hard state, snapshot and log after it. */
export interface DiskImage {
  hardState: HardState;
  snapshot: Snapshot;
  /** Contiguous entries following snapshot.metadata.index. */
  entries: Entry[];
}

/** One Ready's persistence, written but not yet synced. */
export interface DiskWrite {
  hardState: HardState | undefined;
  entries: Entry[];
  snapshot: Snapshot | undefined;
}

/**
 * A node's disk, as a write-ahead log sees it: writes are durable only once a
 * sync covers them, and a sync covers every write made before it. crash()
 * discards whatever no sync covered, which is exactly the state a driver must
 * not have leaked to the network.
 *
 * Two kinds of write: write() is one a driver waits to sync (sync() completes
 * it), and writeWithoutSync() is one the driver does not sync at all (a Ready
 * that only moves the commit index, `mustSync` false): it stays lost-on-crash
 * until some later sync happens to cover it, as with a real WAL whose next
 * fdatasync flushes the records written before it.
 *
 * Snapshots the application creates (compaction) are written atomically and
 * synced, as a real snapshot file is synced before it replaces the old one;
 * that sync covers the unsynced writes before it too.
 */
export class FakeDisk {
  private image: DiskImage;
  /** Writes no sync covered yet, oldest first: any number without sync, then at most one waiting for its sync. */
  private unsynced: DiskWrite[] = [];
  private awaitingSync = false;

  constructor(initialConf: ConfState) {
    this.image = {
      hardState: { term: 0, vote: None, commit: 0 },
      snapshot: { metadata: { index: 0, term: 0, confState: initialConf }, data: new Uint8Array() },
      entries: [],
    };
  }

  durable(): Readonly<DiskImage> {
    return this.image;
  }

  /** A write the driver will sync before relying on it. */
  write(pending: DiskWrite): void {
    if (this.awaitingSync) throw new Error('a write is already waiting for its sync');
    this.unsynced.push(pending);
    this.awaitingSync = true;
  }

  /**
   * A write the driver never syncs (a commit-only hard state). A driver only
   * does this between synced writes; one issued while a sync is under way
   * could land on either side of it, which the model does not try to represent.
   */
  writeWithoutSync(pending: DiskWrite): void {
    if (this.awaitingSync) throw new Error('an unsynced write while another waits for its sync');
    this.unsynced.push(pending);
  }

  /** Makes every buffered write durable, in order, and returns them merged (undefined if there were none). */
  sync(): DiskWrite | undefined {
    this.awaitingSync = false;
    return this.makeDurable(this.unsynced.splice(0));
  }

  crash(): void {
    this.unsynced = [];
    this.awaitingSync = false;
  }

  /**
   * The application's own snapshot at an applied index: the log before it is
   * compacted away. Its sync also makes the unsynced writes made before it
   * durable (returned merged, or undefined), so a durable snapshot is never
   * newer than the durable commit index that allowed it. A write still waiting
   * for its own sync is left to that sync, as the driver accounts for it there.
   */
  saveSnapshot(snapshot: Snapshot): DiskWrite | undefined {
    const covered = this.awaitingSync ? this.unsynced.splice(0, this.unsynced.length - 1) : this.unsynced.splice(0);
    const flushed = this.makeDurable(covered);
    const index = snapshot.metadata.index;
    this.image = {
      ...this.image,
      snapshot,
      entries: this.image.entries.filter((entry) => entry.index > index),
    };
    return flushed;
  }

  private makeDurable(writes: readonly DiskWrite[]): DiskWrite | undefined {
    if (writes.length === 0) return undefined;
    for (const pending of writes) {
      if (pending.snapshot) this.installSnapshot(pending.snapshot);
      if (pending.entries.length > 0) this.appendEntries(pending.entries);
      if (pending.hardState) this.image = { ...this.image, hardState: { ...pending.hardState } };
    }
    return {
      hardState: writes.reduce<HardState | undefined>((last, pending) => pending.hardState ?? last, undefined),
      entries: writes.flatMap((pending) => pending.entries),
      snapshot: writes.reduce<Snapshot | undefined>((last, pending) => pending.snapshot ?? last, undefined),
    };
  }

  private installSnapshot(snapshot: Snapshot): void {
    this.image = { ...this.image, snapshot, entries: [] };
  }

  private appendEntries(entries: readonly Entry[]): void {
    const afterSnapshot = entries.filter((entry) => entry.index > this.image.snapshot.metadata.index);
    const first = afterSnapshot[0];
    if (first === undefined) return;
    const kept = this.image.entries.filter((entry) => entry.index < first.index);
    const expectedNext = (kept[kept.length - 1]?.index ?? this.image.snapshot.metadata.index) + 1;
    if (first.index !== expectedNext) throw new Error(`disk append at ${first.index} leaves a gap before ${expectedNext}`);
    this.image = { ...this.image, entries: kept.concat(afterSnapshot) };
  }
}

/** Term of the durable entry at `index`, or undefined if the disk does not hold it. */
export function durableTermAt(image: Readonly<DiskImage>, index: number): number | undefined {
  const snapshotIndex = image.snapshot.metadata.index;
  if (index === snapshotIndex) return image.snapshot.metadata.term;
  if (index < snapshotIndex) return undefined;
  return image.entries[index - snapshotIndex - 1]?.term;
}

export function durableLastIndex(image: Readonly<DiskImage>): number {
  return image.snapshot.metadata.index + image.entries.length;
}
