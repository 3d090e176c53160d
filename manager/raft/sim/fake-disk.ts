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
 * A node's disk. Writes are buffered until sync(); crash() discards whatever
 * was not synced, which is exactly the state a driver must not have leaked to
 * the network. Snapshots the application creates (compaction) are written
 * atomically, as a real snapshot file is synced before it replaces the old one.
 */
export class FakeDisk {
  private image: DiskImage;
  private unsynced: DiskWrite | undefined;

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

  write(pending: DiskWrite): void {
    if (this.unsynced) throw new Error('a write is already waiting for its sync');
    this.unsynced = pending;
  }

  /** Makes the buffered write durable and returns it. */
  sync(): DiskWrite | undefined {
    const pending = this.unsynced;
    this.unsynced = undefined;
    if (!pending) return undefined;
    if (pending.snapshot) this.installSnapshot(pending.snapshot);
    if (pending.entries.length > 0) this.appendEntries(pending.entries);
    if (pending.hardState) this.image = { ...this.image, hardState: { ...pending.hardState } };
    return pending;
  }

  crash(): void {
    this.unsynced = undefined;
  }

  /** The application's own snapshot at an applied index: the log before it is compacted away. */
  saveSnapshot(snapshot: Snapshot): void {
    const index = snapshot.metadata.index;
    this.image = {
      ...this.image,
      snapshot,
      entries: this.image.entries.filter((entry) => entry.index > index),
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
