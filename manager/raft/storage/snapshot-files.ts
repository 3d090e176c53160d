import { open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PRIVATE_FILE_MODE } from '../../../proto/runtime/private-files';
import { encodeRecord, scanRecords } from '../../log';
import type { Snapshot } from '../core/types';
import { DAMAGED_SUFFIX, snapshotFileName, snapshotIndexOf, TEMPORARY_SUFFIX } from './file-names';
import { syncDirectory, writeFully } from './file-sync';
import { decodeSnapshot, encodeSnapshot } from './snapshot-codec';

/** The newest snapshot, and one older to fall back to if the newest is found damaged. */
const SNAPSHOTS_KEPT = 2;

/**
 * Snapshot files, one per snapshot, named by index. A file only counts once
 * the WAL marks it complete: open() is told the newest marked index.
 */
export class SnapshotFiles {
  private constructor(
    private readonly dir: string,
    /** Indexes of the snapshot files on disk, ascending. */
    private readonly kept: number[],
  ) {}

  /**
   * Loads the newest valid snapshot at or before `newestMarked`. Newer files
   * are writes a crash interrupted before the WAL recorded them: removed. A
   * damaged file is renamed aside with a warning and an older one is tried.
   */
  static async open(
    dir: string,
    newestMarked: number | undefined,
    onWarning: (message: string) => void,
  ): Promise<{ files: SnapshotFiles; newest: Snapshot | undefined }> {
    const names = await readdir(dir);
    const leftovers = names.filter((name) => name.endsWith(TEMPORARY_SUFFIX) && snapshotIndexOf(name.slice(0, -TEMPORARY_SUFFIX.length)) !== undefined);
    const indexes = names
      .map(snapshotIndexOf)
      .filter((index): index is number => index !== undefined)
      .sort((a, b) => b - a);
    const removed = leftovers.map((name) => join(dir, name));
    const kept: number[] = [];
    let newest: Snapshot | undefined;
    for (const index of indexes) {
      const path = join(dir, snapshotFileName(index));
      if (newestMarked === undefined || index > newestMarked) {
        onWarning(`${path}: removed, a snapshot a crash interrupted before the log recorded it`);
        removed.push(path);
      } else if (newest !== undefined) {
        kept.unshift(index);
      } else {
        try {
          newest = await readSnapshotFile(path, index);
          kept.unshift(index);
        } catch (error) {
          onWarning(`${path}: ${(error as Error).message}; renamed to ${path}${DAMAGED_SUFFIX}, an older snapshot is used instead`);
          await rename(path, path + DAMAGED_SUFFIX);
        }
      }
    }
    for (const path of removed) await unlink(path);
    if (removed.length > 0) await syncDirectory(dir);
    return { files: new SnapshotFiles(dir, kept), newest };
  }

  /** Writes the snapshot atomically: a temporary file, synced, renamed into place, the directory synced. */
  async write(snapshot: Snapshot): Promise<void> {
    const { index } = snapshot.metadata;
    const path = join(this.dir, snapshotFileName(index));
    const temporary = path + TEMPORARY_SUFFIX;
    // 'wx' after removing a leftover: a file written over keeps the mode it had.
    await rm(temporary, { force: true });
    const handle = await open(temporary, 'wx', PRIVATE_FILE_MODE);
    try {
      await writeFully(handle, encodeRecord(encodeSnapshot(snapshot)), 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
    await syncDirectory(this.dir);
    if (!this.kept.includes(index)) this.kept.push(index);
    this.kept.sort((a, b) => a - b);
  }

  /** Removes all but the newest snapshots kept. */
  async prune(): Promise<void> {
    // Removals need no directory sync: a file a crash brings back is older than those kept, and is pruned again.
    while (this.kept.length > SNAPSHOTS_KEPT) await unlink(join(this.dir, snapshotFileName(this.kept.shift()!)));
  }

  /**
   * The WAL must keep every entry after this index: the oldest snapshot kept
   * (0, the empty log, while only one is), which open falls back to if the
   * newer one is found damaged.
   */
  fallbackIndex(): number {
    return this.kept.length >= SNAPSHOTS_KEPT ? this.kept[this.kept.length - SNAPSHOTS_KEPT]! : 0;
  }
}

async function readSnapshotFile(path: string, index: number): Promise<Snapshot> {
  const data = await readFile(path);
  const scan = scanRecords(data);
  const payload = scan.entries[0];
  if (payload === undefined || scan.entries.length > 1 || scan.validLength !== data.length) {
    throw new Error(`damaged snapshot file (valid checksummed data ends at byte offset ${scan.validLength} of ${data.length})`);
  }
  const snapshot = decodeSnapshot(payload);
  if (snapshot.metadata.index !== index) throw new Error(`snapshot file holds index ${snapshot.metadata.index}, not the ${index} its name says`);
  return snapshot;
}
