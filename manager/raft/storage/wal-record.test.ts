import fc from 'fast-check';
import type { Entry } from '../core/types';
import { decodeWalRecord, encodeWalRecord, type WalRecord } from './wal-record';

const safeIndex = fc.nat({ max: Number.MAX_SAFE_INTEGER });

const entryRecord: fc.Arbitrary<WalRecord> = fc
  .record({
    index: safeIndex,
    term: safeIndex,
    type: fc.constantFrom<Entry['type']>('normal', 'confChange'),
    data: fc.uint8Array({ maxLength: 64 }),
  })
  .map((entry) => ({ kind: 'entry', entry }));

const hardStateRecord: fc.Arbitrary<WalRecord> = fc
  .record({ term: safeIndex, vote: fc.string(), commit: safeIndex })
  .map((hardState) => ({ kind: 'hardState', hardState }));

const snapshotMark: fc.Arbitrary<WalRecord> = fc.record({
  kind: fc.constantFrom('snapshotCreated' as const, 'snapshotInstalled' as const),
  index: safeIndex,
  term: safeIndex,
});

describe('WAL records', () => {
  it('decode to what was encoded, for every kind', () => {
    fc.assert(
      fc.property(fc.oneof(entryRecord, hardStateRecord, snapshotMark), (record) => {
        expect(decodeWalRecord(encodeWalRecord(record))).toEqual(record);
      }),
    );
  });

  it('store entry data as raw bytes after a fixed header', () => {
    const data = Buffer.from('command');
    const encoded = encodeWalRecord({ kind: 'entry', entry: { index: 1, term: 1, type: 'normal', data } });
    expect(encoded.length).toBe(18 + data.length);
    expect(encoded.subarray(18)).toEqual(data);
  });

  it('refuse payloads no encoder writes', () => {
    expect(() => decodeWalRecord(Uint8Array.of(99))).toThrow('unknown WAL record kind 99');
    expect(() => decodeWalRecord(Uint8Array.of(1, 0, 0))).toThrow('entry record of 3 bytes');
    expect(() => decodeWalRecord(new Uint8Array())).toThrow('unknown WAL record kind');
  });

  it('refuse indexes that are not safe integers', () => {
    const entry = { index: 2 ** 53, term: 1, type: 'normal' as const, data: new Uint8Array() };
    expect(() => encodeWalRecord({ kind: 'entry', entry })).toThrow(RangeError);
  });
});
