import type { Entry, HardState } from '../core/types';
import { newestMarkedSnapshot, replay, type PositionedRecord } from './replay';
import type { WalRecord } from './wal-record';

const entry = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: Uint8Array.of(index) });
const at = (records: WalRecord[]): PositionedRecord[] => records.map((record, offset) => ({ record, file: 'wal-x.log', offset: offset * 100 }));
const entries = (...list: Entry[]): WalRecord[] => list.map((value) => ({ kind: 'entry', entry: value }));
const indexesAndTerms = (list: Entry[]): Array<[number, number]> => list.map(({ index, term }) => [index, term]);

describe('replay', () => {
  it('starts empty with a zero hard state', () => {
    expect(replay([], { index: 0, term: 0 })).toEqual({ entries: [], hardState: { term: 0, vote: '', commit: 0 } });
  });

  it('lets an entry replace everything from its index on', () => {
    const records = at([...entries(entry(1, 1), entry(2, 1), entry(3, 1), entry(4, 1)), ...entries(entry(3, 2))]);
    expect(indexesAndTerms(replay(records, { index: 0, term: 0 }).entries)).toEqual([[1, 1], [2, 1], [3, 2]]);
  });

  it('keeps the newest hard state', () => {
    const older: HardState = { term: 1, vote: 'a', commit: 1 };
    const newer: HardState = { term: 2, vote: 'b', commit: 3 };
    const records = at([{ kind: 'hardState', hardState: older }, ...entries(entry(1, 1)), { kind: 'hardState', hardState: newer }]);
    expect(replay(records, { index: 0, term: 0 }).hardState).toEqual(newer);
  });

  it('skips entries the snapshot covers, but lets them drop what they replaced after it', () => {
    // Entries 1–5 of term 1, then 3–4 rewritten in term 2 (dropping 5); a snapshot later covered 1–3.
    const records = at(entries(entry(1, 1), entry(2, 1), entry(3, 1), entry(4, 1), entry(5, 1), entry(3, 2), entry(4, 2)));
    expect(indexesAndTerms(replay(records, { index: 3, term: 2 }).entries)).toEqual([[4, 2]]);
  });

  it('drops the whole log at an installed snapshot, keeping what follows', () => {
    const records = at([...entries(entry(1, 1), entry(2, 1)), { kind: 'snapshotInstalled', index: 5, term: 3 }, ...entries(entry(6, 3))]);
    expect(indexesAndTerms(replay(records, { index: 5, term: 3 }).entries)).toEqual([[6, 3]]);
  });

  it('keeps entries after a created snapshot when replaying from an older one', () => {
    const records = at([...entries(entry(1, 1), entry(2, 1)), { kind: 'snapshotCreated', index: 2, term: 1 }, ...entries(entry(3, 1))]);
    expect(indexesAndTerms(replay(records, { index: 0, term: 0 }).entries)).toEqual([[1, 1], [2, 1], [3, 1]]);
  });

  it('refuses a gap, naming the file and offset', () => {
    const records = at(entries(entry(1, 1), entry(3, 1)));
    expect(() => replay(records, { index: 0, term: 0 })).toThrow('wal-x.log at byte offset 100: entry 3 follows last index 1');
  });

  it('refuses an installed snapshot newer than the one loaded', () => {
    const records = at([{ kind: 'snapshotInstalled', index: 9, term: 2 }]);
    expect(() => replay(records, { index: 4, term: 1 })).toThrow('no valid snapshot file for it');
  });

  it('finds the newest marked snapshot', () => {
    expect(newestMarkedSnapshot(at(entries(entry(1, 1))))).toBeUndefined();
    const marks: WalRecord[] = [
      { kind: 'snapshotCreated', index: 7, term: 1 },
      { kind: 'snapshotInstalled', index: 4, term: 1 },
    ];
    expect(newestMarkedSnapshot(at(marks))).toBe(7);
  });
});
