import { decodeConfChange, encodeConfChange } from './conf-change';
import { MemoryStorage } from './memory-storage';
import { CompactedError } from './types';
import type { Entry } from './types';

function entries(from: number, terms: number[]): Entry[] {
  return terms.map((term, i) => ({ term, index: from + i, type: 'normal', data: new Uint8Array([i]) }));
}

const conf = { voters: ['a', 'b', 'c'], learners: [] };

describe('MemoryStorage', () => {
  it('starts empty with the bootstrap membership as its snapshot', () => {
    const storage = new MemoryStorage(conf);
    expect([storage.firstIndex(), storage.lastIndex(), storage.term(0)]).toEqual([1, 0, 0]);
    expect(storage.initialState()).toEqual({ hardState: { term: 0, vote: '', commit: 0 }, confState: conf });
  });

  it('replaces a conflicting suffix on append and refuses a gap', () => {
    const storage = new MemoryStorage(conf);
    storage.append(entries(1, [1, 1, 1, 2]));
    storage.append(entries(3, [3]));
    expect(storage.entries(1, 4).map((entry) => entry.term)).toEqual([1, 1, 3]);
    expect(storage.lastIndex()).toBe(3);
    expect(() => storage.append(entries(5, [3]))).toThrow('gap');
  });

  it('limits entries by size but always returns at least one', () => {
    const storage = new MemoryStorage(conf);
    storage.append(entries(1, [1, 1, 1]));
    expect(storage.entries(1, 4, 0)).toHaveLength(1);
    expect(storage.entries(1, 4, 2)).toHaveLength(2);
  });

  it('compacts only what the snapshot covers, keeping the term of the last compacted entry', () => {
    const storage = new MemoryStorage(conf);
    storage.append(entries(1, [1, 1, 2, 2]));
    expect(() => storage.compact(2)).toThrow('snapshot');
    const snapshot = storage.createSnapshot(3, conf, new Uint8Array([9]));
    expect(snapshot.metadata).toEqual({ index: 3, term: 2, confState: conf });
    storage.compact(3);
    expect([storage.firstIndex(), storage.lastIndex(), storage.term(3)]).toEqual([4, 4, 2]);
    expect(() => storage.term(2)).toThrow(CompactedError);
    expect(() => storage.entries(3, 5)).toThrow(CompactedError);
    // Appending entries already compacted is harmless.
    storage.append(entries(2, [1, 2, 2, 3]));
    expect(storage.entries(4, 6).map((entry) => entry.term)).toEqual([2, 3]);
  });

  it('applying a received snapshot replaces the whole log', () => {
    const storage = new MemoryStorage(conf);
    storage.append(entries(1, [1, 1]));
    storage.applySnapshot({ metadata: { index: 10, term: 3, confState: conf }, data: new Uint8Array() });
    expect([storage.firstIndex(), storage.lastIndex(), storage.term(10)]).toEqual([11, 10, 3]);
    expect(() =>
      storage.applySnapshot({ metadata: { index: 5, term: 3, confState: conf }, data: new Uint8Array() }),
    ).toThrow('not newer');
  });
});

describe('conf change encoding', () => {
  it('round-trips and rejects malformed bytes', () => {
    const change = { type: 'addLearner' as const, nodeId: 'd', context: 'd.example:4000' };
    expect(decodeConfChange(encodeConfChange(change))).toEqual(change);
    expect(() => decodeConfChange(new TextEncoder().encode('{"type":"evict","nodeId":"d","context":""}'))).toThrow(
      'unknown type',
    );
  });
});
