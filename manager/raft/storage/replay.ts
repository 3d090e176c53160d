import { None } from '../core/types';
import type { Entry, HardState } from '../core/types';
import { damageError } from './damage';
import type { WalRecord } from './wal-record';

/** A record and where it was read from, for error messages. */
export interface PositionedRecord {
  record: WalRecord;
  file: string;
  offset: number;
}

export interface LogStart {
  index: number;
  term: number;
}

export interface ReplayedLog {
  /** The entries after the start, consecutive. */
  entries: Entry[];
  hardState: HardState;
}

/**
 * Folds WAL records, oldest first, into the log that follows the snapshot at
 * `start` (index 0 without one). A record for an entry the snapshot covers
 * still counts: when written, it replaced everything from its index on, so it
 * drops every entry after the snapshot that earlier records put there.
 */
export function replay(records: readonly PositionedRecord[], start: LogStart): ReplayedLog {
  let entries: Entry[] = [];
  let hardState: HardState = { term: 0, vote: None, commit: 0 };
  for (const { record, file, offset } of records) {
    switch (record.kind) {
      case 'entry': {
        const { index } = record.entry;
        const position = index - start.index - 1;
        if (position < 0) {
          entries = [];
        } else if (position > entries.length) {
          const last = start.index + entries.length;
          throw damageError(file, offset, `entry ${index} follows last index ${last}, so entries between are missing`);
        } else {
          entries.length = position;
          entries.push(record.entry);
        }
        break;
      }
      case 'hardState':
        hardState = record.hardState;
        break;
      case 'snapshotCreated':
        // The entries stay: when the loaded snapshot is older, the log after it is still needed.
        break;
      case 'snapshotInstalled':
        if (record.index > start.index) {
          throw damageError(file, offset, `the log was replaced by the snapshot at index ${record.index}, but no valid snapshot file for it was found`);
        }
        entries = [];
        break;
    }
  }
  return { entries, hardState };
}

/**
 * The index of the newest snapshot the WAL says is complete. A snapshot file
 * is written before its mark, so every snapshot file up to this index is
 * complete, and one after it is a write a crash interrupted.
 */
export function newestMarkedSnapshot(records: readonly PositionedRecord[]): number | undefined {
  let newest: number | undefined;
  for (const { record } of records) {
    if (record.kind === 'snapshotCreated' || record.kind === 'snapshotInstalled') newest = Math.max(newest ?? 0, record.index);
  }
  return newest;
}
