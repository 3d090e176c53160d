import type { Entry } from '../core';
import { durableLastIndex, durableTermAt, FakeDisk } from './fake-disk';

const conf = { voters: ['n1'], learners: [] };

function entry(index: number, term: number): Entry {
  return { index, term, type: 'normal', data: new Uint8Array() };
}

describe('FakeDisk', () => {
  it('keeps only what was synced when it crashes', () => {
    const disk = new FakeDisk(conf);
    disk.write({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: [entry(1, 1)], snapshot: undefined });
    disk.sync();
    disk.write({ hardState: { term: 2, vote: 'n1', commit: 1 }, entries: [entry(2, 2)], snapshot: undefined });
    disk.crash();
    expect(disk.durable().hardState).toEqual({ term: 1, vote: 'n1', commit: 0 });
    expect(durableLastIndex(disk.durable())).toBe(1);
    expect(disk.sync()).toBeUndefined();
  });

  it('replaces a conflicting suffix of the log on append', () => {
    const disk = new FakeDisk(conf);
    disk.write({ hardState: undefined, entries: [entry(1, 1), entry(2, 1), entry(3, 1)], snapshot: undefined });
    disk.sync();
    disk.write({ hardState: undefined, entries: [entry(2, 2)], snapshot: undefined });
    disk.sync();
    expect(disk.durable().entries.map((e) => [e.index, e.term])).toEqual([[1, 1], [2, 2]]);
  });

  it('compacts the log behind a saved snapshot and answers terms from it', () => {
    const disk = new FakeDisk(conf);
    disk.write({ hardState: undefined, entries: [entry(1, 1), entry(2, 1), entry(3, 2)], snapshot: undefined });
    disk.sync();
    disk.saveSnapshot({ metadata: { index: 2, term: 1, confState: conf }, data: new Uint8Array() });
    expect(disk.durable().entries.map((e) => e.index)).toEqual([3]);
    expect(durableTermAt(disk.durable(), 2)).toBe(1);
    expect(durableTermAt(disk.durable(), 1)).toBeUndefined();
    expect(durableLastIndex(disk.durable())).toBe(3);
  });
});
