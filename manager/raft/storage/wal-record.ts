import type { Entry, EntryType, HardState } from '../core/types';

/*
 * What one WAL record says. Replay folds them in order (see replay.ts):
 * - entry: the entry at `index` replaces whatever was at `index` and after;
 * - hardState: the newest one wins;
 * - snapshotCreated: the snapshot file for `index` is complete (the log before it may go);
 * - snapshotInstalled: the snapshot file for `index` is complete and the whole log was replaced by it.
 */
export type WalRecord =
  | { kind: 'entry'; entry: Entry }
  | { kind: 'hardState'; hardState: HardState }
  | { kind: 'snapshotCreated'; index: number; term: number }
  | { kind: 'snapshotInstalled'; index: number; term: number };

/* Binary layouts, integers little-endian, index and term as unsigned 64-bit:
 * entry:          [kind][entry type][index][term][data...]
 * hardState:      [kind][term][commit][vote, UTF-8...]
 * snapshot marks: [kind][index][term]
 */
const KIND_CODES = { entry: 1, hardState: 2, snapshotCreated: 3, snapshotInstalled: 4 } as const;
const ENTRY_TYPE_CODES: Record<EntryType, number> = { normal: 0, confChange: 1 };
const ENTRY_HEADER_BYTES = 2 + 8 + 8;
const HARD_STATE_HEADER_BYTES = 1 + 8 + 8;
const SNAPSHOT_MARK_BYTES = 1 + 8 + 8;
const TWO_TO_32 = 2 ** 32;

export function encodeWalRecord(record: WalRecord): Buffer {
  switch (record.kind) {
    case 'entry': {
      const { entry } = record;
      const payload = Buffer.allocUnsafe(ENTRY_HEADER_BYTES + entry.data.length);
      payload[0] = KIND_CODES.entry;
      payload[1] = ENTRY_TYPE_CODES[entry.type];
      writeUint64(payload, entry.index, 2);
      writeUint64(payload, entry.term, 10);
      payload.set(entry.data, ENTRY_HEADER_BYTES);
      return payload;
    }
    case 'hardState': {
      const { term, commit, vote } = record.hardState;
      const voteBytes = Buffer.from(vote, 'utf8');
      const payload = Buffer.allocUnsafe(HARD_STATE_HEADER_BYTES + voteBytes.length);
      payload[0] = KIND_CODES.hardState;
      writeUint64(payload, term, 1);
      writeUint64(payload, commit, 9);
      payload.set(voteBytes, HARD_STATE_HEADER_BYTES);
      return payload;
    }
    case 'snapshotCreated':
    case 'snapshotInstalled': {
      const payload = Buffer.allocUnsafe(SNAPSHOT_MARK_BYTES);
      payload[0] = KIND_CODES[record.kind];
      writeUint64(payload, record.index, 1);
      writeUint64(payload, record.term, 9);
      return payload;
    }
  }
}

/** Throws on a payload no encoder writes (its checksum matched, so the writer was not this code). */
export function decodeWalRecord(payload: Uint8Array): WalRecord {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const kind = bytes[0];
  switch (kind) {
    case KIND_CODES.entry: {
      requireLength(bytes, ENTRY_HEADER_BYTES, 'entry');
      const type = entryTypeOf(bytes[1]!);
      // A copy, so the entry does not keep the whole segment file's buffer alive.
      const data = Uint8Array.prototype.slice.call(bytes, ENTRY_HEADER_BYTES);
      return { kind: 'entry', entry: { index: readUint64(bytes, 2), term: readUint64(bytes, 10), type, data } };
    }
    case KIND_CODES.hardState:
      requireLength(bytes, HARD_STATE_HEADER_BYTES, 'hard state');
      return {
        kind: 'hardState',
        hardState: {
          term: readUint64(bytes, 1),
          commit: readUint64(bytes, 9),
          vote: bytes.toString('utf8', HARD_STATE_HEADER_BYTES),
        },
      };
    case KIND_CODES.snapshotCreated:
    case KIND_CODES.snapshotInstalled:
      requireLength(bytes, SNAPSHOT_MARK_BYTES, 'snapshot mark');
      return {
        kind: kind === KIND_CODES.snapshotCreated ? 'snapshotCreated' : 'snapshotInstalled',
        index: readUint64(bytes, 1),
        term: readUint64(bytes, 9),
      };
    default:
      throw new Error(`unknown WAL record kind ${String(kind)}`);
  }
}

function entryTypeOf(code: number): EntryType {
  const type = (Object.keys(ENTRY_TYPE_CODES) as EntryType[]).find((name) => ENTRY_TYPE_CODES[name] === code);
  if (type === undefined) throw new Error(`unknown entry type ${code}`);
  return type;
}

function requireLength(bytes: Buffer, minimum: number, what: string): void {
  if (bytes.length < minimum) throw new Error(`${what} record of ${bytes.length} bytes, expected at least ${minimum}`);
}

function writeUint64(target: Buffer, value: number, offset: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${value} is not a non-negative safe integer`);
  target.writeUInt32LE(value % TWO_TO_32, offset);
  target.writeUInt32LE(Math.floor(value / TWO_TO_32), offset + 4);
}

function readUint64(source: Buffer, offset: number): number {
  const value = source.readUInt32LE(offset + 4) * TWO_TO_32 + source.readUInt32LE(offset);
  if (!Number.isSafeInteger(value)) throw new RangeError(`stored integer at ${offset} exceeds 2^53`);
  return value;
}
