import { mkdir } from 'node:fs/promises';
import { PRIVATE_DIR_MODE } from '../../../proto/runtime/private-files';
import { MemoryStorage } from '../core/memory-storage';
import type { ConfState, DurableStorage, Entry, HardState, Snapshot } from '../core/types';
import { newestMarkedSnapshot, replay } from './replay';
import { SnapshotFiles } from './snapshot-files';
import { Wal } from './wal';
import type { WalRecord } from './wal-record';

export interface DiskStorageOptions {
  /** A WAL segment that reached this size takes no more writes. Default 64 MiB. */
  segmentBytes?: number;
  /** Told about recoverable damage: a torn WAL tail, an unfinished or damaged snapshot. */
  onWarning?: (message: string) => void;
}

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;

/** One save() or createSnapshot() waiting for the next sync. */
interface PendingWrite {
  /** A snapshot file to make durable before the records that mark it. */
  snapshot?: Snapshot;
  records: WalRecord[];
  /** False when losing these records in a crash is harmless (a commit index moved forward). */
  sync: boolean;
  durable: () => void;
  failed: (error: Error) => void;
}

/**
 * Raft's durable storage in a directory: a segmented WAL plus snapshot files.
 * Reads are answered from memory (a MemoryStorage holding the live log, the
 * hard state and the newest snapshot), so the core can call them
 * synchronously. save() and createSnapshot() change that memory at once and
 * resolve when the change is durable; all calls of one event-loop turn share
 * one WAL write and one fdatasync. After a failed write the storage refuses
 * every later call, since what is on disk is then unknown.
 */
export class DiskStorage implements DurableStorage {
  private queue: PendingWrite[] = [];
  private draining: Promise<void> | undefined;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly dir: string,
    private readonly memory: MemoryStorage,
    private readonly wal: Wal,
    private readonly snapshotFiles: SnapshotFiles,
  ) {}

  /**
   * Opens (creating if needed) the storage in `dir`: loads the newest valid
   * snapshot, then replays the WAL after it. Fails, naming the file and
   * offset, on damage that could lose acknowledged state.
   */
  static async open(dir: string, options: DiskStorageOptions = {}): Promise<DiskStorage> {
    const onWarning = options.onWarning ?? (() => {});
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    const { wal, records } = await Wal.open(dir, { segmentBytes: options.segmentBytes ?? DEFAULT_SEGMENT_BYTES, onWarning });
    try {
      const { files, newest } = await SnapshotFiles.open(dir, newestMarkedSnapshot(records), onWarning);
      const start = newest?.metadata ?? { index: 0, term: 0 };
      const { entries, hardState } = replay(records, start);
      const memory = new MemoryStorage();
      if (newest !== undefined) memory.applySnapshot(newest);
      memory.append(entries);
      memory.setHardState(hardState);
      return new DiskStorage(dir, memory, wal, files);
    } catch (error) {
      await wal.close();
      throw error;
    }
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return this.memory.initialState();
  }

  entries(lo: number, hi: number, maxBytes?: number): Entry[] {
    return this.memory.entries(lo, hi, maxBytes);
  }

  term(index: number): number {
    return this.memory.term(index);
  }

  firstIndex(): number {
    return this.memory.firstIndex();
  }

  lastIndex(): number {
    return this.memory.lastIndex();
  }

  snapshot(): Snapshot {
    return this.memory.snapshot();
  }

  /**
   * Makes a Ready's snapshot, entries and hard state durable, in that order.
   * A snapshot replaces the whole log; entries replace the log from their
   * first index on (entries a snapshot already covers are skipped). Entries
   * and snapshot data are kept, not copied: callers must not change them.
   */
  save(hardState: HardState | undefined, entries: Entry[], snapshot: Snapshot | undefined, mustSync = true): Promise<void> {
    return this.enqueue(mustSync || snapshot !== undefined || entries.length > 0, () => {
      const coveredThrough = snapshot?.metadata.index ?? this.memory.firstIndex() - 1;
      const fresh = entries.filter((entry) => entry.index > coveredThrough);
      checkAppendable(fresh, snapshot?.metadata.index ?? this.memory.lastIndex());
      const records: WalRecord[] = [];
      if (snapshot !== undefined) {
        this.memory.applySnapshot(snapshot);
        records.push({ kind: 'snapshotInstalled', index: snapshot.metadata.index, term: snapshot.metadata.term });
      }
      this.memory.append(fresh);
      for (const entry of fresh) records.push({ kind: 'entry', entry });
      if (hardState !== undefined) {
        this.memory.setHardState(hardState);
        records.push({ kind: 'hardState', hardState: { ...hardState } });
      }
      return { snapshot, records };
    });
  }

  /** Records the application's state at `index` (applied, so committed) and compacts the log through it. */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<void> {
    return this.enqueue(true, () => {
      const snapshot = this.memory.createSnapshot(index, confState, data);
      this.memory.compact(index);
      return { snapshot, records: [{ kind: 'snapshotCreated', index, term: snapshot.metadata.term }] };
    });
  }

  /** Waits for the writes already accepted to become durable, then closes the files. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.draining;
      await this.wal.close();
    })();
    return this.closing;
  }

  /** The WAL segment files, oldest first (for tests and diagnostics). */
  segmentPaths(): string[] {
    return this.wal.segmentPaths();
  }

  /**
   * Applies a change to memory now (throwing rejects the call, changing
   * nothing) and queues what makes it durable for the end of this turn.
   */
  private enqueue(sync: boolean, change: () => Pick<PendingWrite, 'snapshot' | 'records'>): Promise<void> {
    if (this.closing) return Promise.reject(new Error(`${this.dir}: storage used after close`));
    if (this.failure) return Promise.reject(this.failure);
    let write: Pick<PendingWrite, 'snapshot' | 'records'>;
    try {
      write = change();
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return new Promise<void>((durable, failed) => {
      this.queue.push({ ...write, sync, durable, failed });
      this.draining ??= new Promise<void>((turnEnded) => setImmediate(turnEnded)).then(() => this.drain());
    });
  }

  /** Persists batches until none is left; calls made meanwhile form the next batch. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        await this.persist(batch);
      } catch (cause) {
        this.failure = new Error(`${this.dir}: write failed, the storage accepts no more changes: ${String(cause)}`, { cause });
        for (const pending of [...batch, ...this.queue]) pending.failed(this.failure);
        this.queue = [];
        break;
      }
      for (const pending of batch) pending.durable();
    }
    this.draining = undefined;
  }

  private async persist(batch: readonly PendingWrite[]): Promise<void> {
    const snapshots = batch.flatMap((pending) => (pending.snapshot === undefined ? [] : [pending.snapshot]));
    // Each snapshot file is complete before the WAL marks it: replay trusts only marked snapshots.
    for (const snapshot of snapshots) await this.snapshotFiles.write(snapshot);
    await this.wal.write(
      batch.flatMap((pending) => pending.records),
      batch.some((pending) => pending.sync),
    );
    if (snapshots.length === 0) return;
    await this.snapshotFiles.prune();
    await this.wal.removeSegmentsThrough(this.snapshotFiles.fallbackIndex());
  }
}

/** Entries must be consecutive and start no later than just after the last index. */
function checkAppendable(entries: readonly Entry[], lastIndex: number): void {
  entries.forEach((entry, position) => {
    const expected = position === 0 ? Math.min(entry.index, lastIndex + 1) : entries[position - 1]!.index + 1;
    if (entry.index !== expected) {
      throw new Error(`cannot append entry ${entry.index}: expected ${expected} (last index ${lastIndex})`);
    }
  });
}
