import { open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { PRIVATE_FILE_MODE } from '../../../proto/runtime/private-files';
import { encodeRecord, HEADER_BYTES, scanRecords } from '../../log';
import type { HardState } from '../core/types';
import { damageError } from './damage';
import { segmentFileName, segmentSequenceOf } from './file-names';
import { syncDirectory, writeFully } from './file-sync';
import type { PositionedRecord } from './replay';
import { decodeWalRecord, encodeWalRecord, type WalRecord } from './wal-record';

export interface WalOptions {
  /** A segment that has reached this size takes no more writes; the next goes to a new segment. */
  segmentBytes: number;
  onWarning: (message: string) => void;
}

interface Segment {
  sequence: number;
  path: string;
  /** The highest entry index among its records (0 for none): a snapshot at or past it makes the segment obsolete. */
  highestEntryIndex: number;
}

/**
 * The write-ahead log: checksummed records in numbered segment files. Each
 * write() is one write and one fdatasync of the newest segment. A segment
 * starts with the hard state current when it was first written to, so
 * removing the segments before it never loses the newest hard state.
 */
export class Wal {
  private constructor(
    private readonly dir: string,
    private readonly options: WalOptions,
    /** Oldest first; the last is the one written to. */
    private readonly segments: Segment[],
    private current: FileHandle,
    private currentSize: number,
    private lastHardState: HardState | undefined,
  ) {}

  /**
   * Opens the segments in `dir` (creating the first if there is none) and
   * reads all their records. Damage at the end of the newest segment is a
   * write a crash interrupted before it was acknowledged: it is cut off with
   * a warning. Damage anywhere else would lose acknowledged records, so
   * opening fails with an error naming the file and offset.
   */
  static async open(dir: string, options: WalOptions): Promise<{ wal: Wal; records: PositionedRecord[] }> {
    const sequences = await segmentSequences(dir);
    if (sequences.length === 0) {
      sequences.push(1);
      await (await createSegment(dir, join(dir, segmentFileName(1)))).close();
    }
    const segments: Segment[] = [];
    const records: PositionedRecord[] = [];
    let validLengthOfLast = 0;
    for (const [position, sequence] of sequences.entries()) {
      const path = join(dir, segmentFileName(sequence));
      const read = await readSegment(path, position === sequences.length - 1, options.onWarning);
      segments.push({ sequence, path, highestEntryIndex: highestEntryIndex(read.records) });
      for (const record of read.records) records.push(record);
      validLengthOfLast = read.validLength;
    }
    const lastPath = segments[segments.length - 1]!.path;
    const current = await open(lastPath, 'r+');
    try {
      if ((await current.stat()).size > validLengthOfLast) {
        await current.truncate(validLengthOfLast);
        await current.datasync();
      }
    } catch (error) {
      await current.close();
      throw error;
    }
    const wal = new Wal(dir, options, segments, current, validLengthOfLast, lastHardStateIn(records));
    return { wal, records };
  }

  /**
   * Appends `records` in one write and, when `sync`, makes them and every earlier unsynced write
   * durable with one fdatasync (plus a directory sync when a segment is created).
   */
  async write(records: readonly WalRecord[], sync: boolean): Promise<void> {
    if (records.length === 0) return;
    if (this.currentSize >= this.options.segmentBytes) await this.startSegment();
    // Decided by emptiness, not by having just created the segment: a crash can leave a new segment
    // empty (created, its first write lost), and open() then goes on writing into it. Without the hard
    // state at its start, removing the older segments would lose the newest hard state (a vote).
    const toWrite: readonly WalRecord[] =
      this.currentSize === 0 && this.lastHardState !== undefined ? [{ kind: 'hardState', hardState: this.lastHardState }, ...records] : records;
    const data = Buffer.concat(toWrite.map((record) => encodeRecord(encodeWalRecord(record))));
    await writeFully(this.current, data, this.currentSize);
    if (sync) await this.current.datasync();
    this.currentSize += data.length;
    const segment = this.segments[this.segments.length - 1]!;
    for (const record of records) {
      if (record.kind === 'entry') segment.highestEntryIndex = Math.max(segment.highestEntryIndex, record.entry.index);
      if (record.kind === 'hardState') this.lastHardState = record.hardState;
    }
  }

  /** Removes the oldest segments while every entry in them is at or before `index`; never the one written to. */
  async removeSegmentsThrough(index: number): Promise<void> {
    // One at a time, oldest first, each removal durable before the next: a crash leaves the sequence without holes.
    while (this.segments.length > 1 && this.segments[0]!.highestEntryIndex <= index) {
      await unlink(this.segments[0]!.path);
      await syncDirectory(this.dir);
      this.segments.shift();
    }
  }

  /** The segment files, oldest first (for tests and diagnostics). */
  segmentPaths(): string[] {
    return this.segments.map((segment) => segment.path);
  }

  close(): Promise<void> {
    return this.current.close();
  }

  /** Switches writing to a new, empty segment (write() puts the hard state at its start). */
  private async startSegment(): Promise<void> {
    const sequence = this.segments[this.segments.length - 1]!.sequence + 1;
    const path = join(this.dir, segmentFileName(sequence));
    const handle = await createSegment(this.dir, path);
    // Unsynced writes of the old segment would not be covered by syncs of the new one.
    await this.current.datasync();
    await this.current.close();
    this.current = handle;
    this.currentSize = 0;
    this.segments.push({ sequence, path, highestEntryIndex: 0 });
  }
}

async function segmentSequences(dir: string): Promise<number[]> {
  const sequences = (await readdir(dir))
    .map(segmentSequenceOf)
    .filter((sequence): sequence is number => sequence !== undefined)
    .sort((a, b) => a - b);
  for (let position = 1; position < sequences.length; position++) {
    const expected = sequences[position - 1]! + 1;
    if (sequences[position] !== expected) {
      throw damageError(join(dir, segmentFileName(expected)), 0, 'this WAL segment is missing, though older and newer ones exist');
    }
  }
  return sequences;
}

async function createSegment(dir: string, path: string): Promise<FileHandle> {
  const handle = await open(path, 'wx+', PRIVATE_FILE_MODE);
  await syncDirectory(dir);
  return handle;
}

async function readSegment(
  path: string,
  isNewest: boolean,
  onWarning: (message: string) => void,
): Promise<{ records: PositionedRecord[]; validLength: number }> {
  const data = await readFile(path);
  const scan = scanRecords(data);
  if (scan.validLength < data.length) {
    if (!isNewest) throw damageError(path, scan.validLength, 'a damaged record in a WAL segment that is not the newest');
    if (scan.validRecordAfterDamage !== undefined) {
      throw damageError(path, scan.validLength, `a damaged record, followed by a valid one at offset ${scan.validRecordAfterDamage}`);
    }
    const cut = data.length - scan.validLength;
    onWarning(`${path}: cut off ${cut} damaged byte(s) at offset ${scan.validLength}, a write a crash interrupted before it was acknowledged`);
  }
  const records: PositionedRecord[] = [];
  let offset = 0;
  for (const payload of scan.entries) {
    try {
      records.push({ record: decodeWalRecord(payload), file: path, offset });
    } catch (error) {
      throw damageError(path, offset, `a record with a valid checksum this version cannot read (${(error as Error).message})`);
    }
    offset += HEADER_BYTES + payload.length;
  }
  return { records, validLength: scan.validLength };
}

function highestEntryIndex(records: readonly PositionedRecord[]): number {
  let highest = 0;
  for (const { record } of records) if (record.kind === 'entry') highest = Math.max(highest, record.entry.index);
  return highest;
}

function lastHardStateIn(records: readonly PositionedRecord[]): HardState | undefined {
  for (let position = records.length - 1; position >= 0; position--) {
    const { record } = records[position]!;
    if (record.kind === 'hardState') return record.hardState;
  }
  return undefined;
}
