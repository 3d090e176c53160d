import { None } from '../core';
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

  it('loses a write made without a sync in a crash', () => {
    const disk = new FakeDisk(conf);
    disk.write({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: [entry(1, 1)], snapshot: undefined });
    disk.sync();
    disk.writeWithoutSync({ hardState: { term: 1, vote: 'n1', commit: 1 }, entries: [], snapshot: undefined });
    disk.crash();
    expect(disk.durable().hardState).toEqual({ term: 1, vote: 'n1', commit: 0 });
  });

  it('makes a write made without a sync durable with the next sync, as a WAL fdatasync covers earlier records', () => {
    const disk = new FakeDisk(conf);
    disk.write({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: [entry(1, 1)], snapshot: undefined });
    disk.sync();
    disk.writeWithoutSync({ hardState: { term: 1, vote: 'n1', commit: 1 }, entries: [], snapshot: undefined });
    disk.write({ hardState: undefined, entries: [entry(2, 1)], snapshot: undefined });
    expect(disk.sync()).toEqual({ hardState: { term: 1, vote: 'n1', commit: 1 }, entries: [entry(2, 1)], snapshot: undefined });
    disk.crash();
    expect(disk.durable().hardState.commit).toBe(1);
    expect(durableLastIndex(disk.durable())).toBe(2);
  });

  it('syncs the writes before a saved snapshot with it, but leaves a write waiting for its own sync', () => {
    const disk = new FakeDisk(conf);
    disk.write({ hardState: { term: 1, vote: 'n1', commit: 0 }, entries: [entry(1, 1), entry(2, 1)], snapshot: undefined });
    disk.sync();
    disk.writeWithoutSync({ hardState: { term: 1, vote: 'n1', commit: 2 }, entries: [], snapshot: undefined });
    disk.write({ hardState: undefined, entries: [entry(3, 1)], snapshot: undefined });
    const flushed = disk.saveSnapshot({ metadata: { index: 2, term: 1, confState: conf }, data: new Uint8Array() });
    expect(flushed?.hardState?.commit).toBe(2);
    disk.crash();
    expect(disk.durable().hardState.commit).toBe(2);
    expect(durableLastIndex(disk.durable())).toBe(2);
  });

  it('refuses a write without a sync while another waits for its sync', () => {
    const disk = new FakeDisk(conf);
    disk.write({ hardState: undefined, entries: [entry(1, 1)], snapshot: undefined });
    expect(() => disk.writeWithoutSync({ hardState: { term: 1, vote: None, commit: 0 }, entries: [], snapshot: undefined })).toThrow(/waits for its sync/);
  });
});
