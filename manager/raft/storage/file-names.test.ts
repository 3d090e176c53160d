import { segmentFileName, segmentSequenceOf, snapshotFileName, snapshotIndexOf } from './file-names';

describe('storage file names', () => {
  it('round-trip numbers through 16 hex digits, sorting as the numbers do', () => {
    expect(segmentFileName(26)).toBe('wal-000000000000001a.log');
    expect(segmentSequenceOf(segmentFileName(26))).toBe(26);
    expect(snapshotIndexOf(snapshotFileName(2 ** 40))).toBe(2 ** 40);
    const names = [3, 16, 200].map(snapshotFileName);
    expect([...names].sort()).toEqual(names);
  });

  it('ignore other files, temporary and set-aside ones included', () => {
    for (const name of ['wal-1.log', 'wal-000000000000001a.log.tmp', 'snapshot-0000000000000001.snap.damaged', 'notes']) {
      expect(segmentSequenceOf(name)).toBeUndefined();
      expect(snapshotIndexOf(name)).toBeUndefined();
    }
  });
});
