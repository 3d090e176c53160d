import { appendFile, mkdtemp, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { encodeRecord } from '../../log';
import { CompactedError, type Entry, type HardState } from '../core/types';
import { DiskStorage, type DiskStorageOptions } from './disk-storage';
import { segmentFileName, snapshotFileName } from './file-names';
import { encodeSnapshot } from './snapshot-codec';

const entry = (index: number, term: number, text = `e${index}`): Entry => ({ index, term, type: 'normal', data: Buffer.from(text) });
const run = (first: number, last: number, term: number): Entry[] => Array.from({ length: last - first + 1 }, (_, i) => entry(first + i, term));
const conf = { voters: ['a', 'b', 'c'], learners: [] };

let dir: string;
let warnings: string[];
const opened: DiskStorage[] = [];

async function openStorage(options: DiskStorageOptions = {}): Promise<DiskStorage> {
  const storage = await DiskStorage.open(dir, { onWarning: (message) => warnings.push(message), ...options });
  opened.push(storage);
  return storage;
}

/** Closes the storage and opens the directory again. */
async function reopen(storage: DiskStorage, options: DiskStorageOptions = {}): Promise<DiskStorage> {
  await storage.close();
  return openStorage(options);
}

function summary(storage: DiskStorage): { first: number; last: number; entries: Array<[number, number, string]> } {
  const list = storage.entries(storage.firstIndex(), storage.lastIndex() + 1);
  return {
    first: storage.firstIndex(),
    last: storage.lastIndex(),
    entries: list.map(({ index, term, data }) => [index, term, Buffer.from(data).toString()]),
  };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-raft-storage-'));
  warnings = [];
});

afterEach(async () => {
  jest.restoreAllMocks();
  await Promise.all(opened.splice(0).map((storage) => storage.close()));
  await rm(dir, { recursive: true, force: true });
});

describe('DiskStorage', () => {
  it('starts empty in a new directory', async () => {
    const storage = await openStorage();
    expect(storage.initialState()).toEqual({ hardState: { term: 0, vote: '', commit: 0 }, confState: { voters: [], learners: [] } });
    expect([storage.firstIndex(), storage.lastIndex(), storage.term(0)]).toEqual([1, 0, 0]);
    expect(storage.snapshot().metadata.index).toBe(0);
    expect(await readdir(dir)).toEqual([segmentFileName(1)]);
  });

  it('keeps hard state and entries across a restart', async () => {
    const hardState: HardState = { term: 3, vote: 'node-b', commit: 2 };
    const storage = await openStorage();
    await storage.save({ term: 1, vote: 'node-a', commit: 0 }, run(1, 3, 1), undefined);
    await storage.save(hardState, [entry(4, 3, 'χ data')], undefined);

    const restarted = await reopen(storage);
    expect(restarted.initialState().hardState).toEqual(hardState);
    expect(summary(restarted).entries).toEqual([[1, 1, 'e1'], [2, 1, 'e2'], [3, 1, 'e3'], [4, 3, 'χ data']]);
    expect(restarted.entries(1, 2)[0]).toMatchObject({ type: 'normal' });
    expect(warnings).toEqual([]);
  });

  it('replaces an uncommitted suffix, in memory and after a restart', async () => {
    const storage = await openStorage();
    await storage.save(undefined, run(1, 5, 1), undefined);
    await storage.save(undefined, [entry(3, 2, 'new3')], undefined);
    const expected = { first: 1, last: 3, entries: [[1, 1, 'e1'], [2, 1, 'e2'], [3, 2, 'new3']] };
    expect(summary(storage)).toEqual(expected);
    expect(summary(await reopen(storage))).toEqual(expected);
  });

  it('rejects entries that would leave a gap, changing nothing', async () => {
    const storage = await openStorage();
    await storage.save(undefined, run(1, 2, 1), undefined);
    await expect(storage.save({ term: 9, vote: '', commit: 0 }, [entry(4, 1)], undefined)).rejects.toThrow('cannot append entry 4: expected 3');
    await expect(storage.save(undefined, [entry(3, 1), entry(5, 1)], undefined)).rejects.toThrow('cannot append entry 5: expected 4');
    expect(storage.lastIndex()).toBe(2);
    expect(storage.initialState().hardState.term).toBe(0);
    expect((await reopen(storage)).lastIndex()).toBe(2);
  });

  it('syncs the WAL once for all the saves of one event-loop turn, and applies them in call order', async () => {
    const storage = await openStorage();
    const probe = await open(join(dir, 'probe'), 'w');
    const datasync = jest.spyOn(Object.getPrototypeOf(probe) as { datasync(): Promise<void> }, 'datasync');
    await probe.close();

    const saves = Array.from({ length: 50 }, (_, i) => storage.save({ term: 1, vote: '', commit: i }, [entry(i + 1, 1)], undefined));
    saves.push(storage.save(undefined, [entry(10, 2, 'rewritten')], undefined));
    await Promise.all(saves);
    expect(datasync).toHaveBeenCalledTimes(1);

    const restarted = await reopen(storage);
    expect(restarted.lastIndex()).toBe(10);
    expect(restarted.term(10)).toBe(2);
    expect(restarted.initialState().hardState.commit).toBe(49);
  });

  it('writes a commit-only hard state without a sync, and the next synced save makes it durable too', async () => {
    const storage = await openStorage();
    await storage.save({ term: 1, vote: 'a', commit: 0 }, [entry(1, 1)], undefined);
    const probe = await open(join(dir, 'probe'), 'w');
    const datasync = jest.spyOn(Object.getPrototypeOf(probe) as { datasync(): Promise<void> }, 'datasync');
    await probe.close();

    await storage.save({ term: 1, vote: 'a', commit: 1 }, [], undefined, false);
    expect(datasync).not.toHaveBeenCalled();
    await storage.save({ term: 1, vote: 'a', commit: 1 }, [entry(2, 1)], undefined);
    expect(datasync).toHaveBeenCalledTimes(1);

    const restarted = await reopen(storage);
    expect(restarted.initialState().hardState).toEqual({ term: 1, vote: 'a', commit: 1 });
    expect(restarted.lastIndex()).toBe(2);
  });

  it('finishes pending saves on close, and refuses calls after it', async () => {
    const storage = await openStorage();
    const pending = storage.save(undefined, [entry(1, 1)], undefined);
    await storage.close();
    await expect(pending).resolves.toBeUndefined();
    await expect(storage.save(undefined, [entry(2, 1)], undefined)).rejects.toThrow('storage used after close');
    expect((await openStorage()).lastIndex()).toBe(1);
  });

  it('refuses every later change after a failed sync, since what is on disk is then unknown', async () => {
    const storage = await openStorage();
    const probe = await open(join(dir, 'probe'), 'w');
    jest.spyOn(Object.getPrototypeOf(probe) as { datasync(): Promise<void> }, 'datasync').mockRejectedValueOnce(new Error('EIO'));
    await probe.close();

    await expect(storage.save(undefined, [entry(1, 1)], undefined)).rejects.toThrow('write failed, the storage accepts no more changes: Error: EIO');
    await expect(storage.save(undefined, [entry(2, 1)], undefined)).rejects.toThrow('write failed');
    await expect(storage.createSnapshot(1, conf, new Uint8Array())).rejects.toThrow('write failed');
  });

  it('cuts off a torn tail of the newest segment with a warning, and goes on from there', async () => {
    const storage = await openStorage();
    await storage.save({ term: 1, vote: 'a', commit: 1 }, run(1, 3, 1), undefined);
    await storage.close();
    const segment = join(dir, segmentFileName(1));
    const intact = (await stat(segment)).size;
    await appendFile(segment, encodeRecord(Buffer.from('a batch a crash cut short')).subarray(0, 13));

    const restarted = await openStorage();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`${segment}: cut off 13 damaged byte(s) at offset ${intact}`);
    expect((await stat(segment)).size).toBe(intact);
    expect(summary(restarted).last).toBe(3);

    await restarted.save(undefined, [entry(4, 1)], undefined);
    expect(summary(await reopen(restarted)).last).toBe(4);
  });

  it('keeps the hard state when a crash left a new segment empty, also once compaction removes the older segments', async () => {
    const hardState: HardState = { term: 2, vote: 'a', commit: 3 };
    const storage = await openStorage({ segmentBytes: 100 });
    await storage.save(hardState, run(1, 3, 1), undefined); // fills segment 1
    await storage.save(undefined, [entry(4, 1)], undefined); // creates segment 2
    expect(storage.segmentPaths()).toHaveLength(2);
    const emptied = storage.segmentPaths()[1]!;
    await storage.close();
    // A crash before any byte of the write that created segment 2 reached the disk.
    await truncate(emptied, 0);

    const restarted = await openStorage({ segmentBytes: 100 });
    expect(restarted.initialState().hardState).toEqual(hardState);
    await restarted.save(undefined, [entry(4, 1)], undefined); // into the emptied segment 2
    await restarted.createSnapshot(3, conf, Buffer.from('state@3'));
    await restarted.createSnapshot(4, conf, Buffer.from('state@4'));
    expect(restarted.segmentPaths()).toEqual([emptied]); // segment 1, which held the hard state, is gone

    expect((await reopen(restarted, { segmentBytes: 100 })).initialState().hardState).toEqual(hardState);
  });

  it('refuses to open when a segment other than the newest is damaged, naming the file and offset', async () => {
    const storage = await openStorage({ segmentBytes: 100 });
    for (let index = 1; index <= 12; index++) await storage.save(undefined, [entry(index, 1)], undefined);
    const segments = storage.segmentPaths();
    expect(segments.length).toBeGreaterThanOrEqual(3);
    await storage.close();

    const middle = segments[1]!;
    const data = await readFile(middle);
    const recordLength = 8 + 18 + 'e1'.length;
    data[recordLength + 20]! ^= 0xff; // inside the second record's payload
    await writeFile(middle, data);

    const refusal = DiskStorage.open(dir);
    await expect(refusal).rejects.toThrow(`${middle} at byte offset ${recordLength}: a damaged record in a WAL segment that is not the newest`);
    await expect(refusal).rejects.toThrow('Restore this manager from a healthy peer');
  });

  it('refuses to open when damage in the newest segment is followed by a valid record', async () => {
    const storage = await openStorage();
    await storage.save(undefined, run(1, 3, 1), undefined);
    await storage.close();
    const segment = join(dir, segmentFileName(1));
    const data = await readFile(segment);
    data[20]! ^= 0xff;
    await writeFile(segment, data);
    await expect(DiskStorage.open(dir)).rejects.toThrow(`${segment} at byte offset 0: a damaged record, followed by a valid one`);
  });

  it('refuses to open when a segment between others is missing', async () => {
    const storage = await openStorage({ segmentBytes: 60 });
    for (let index = 1; index <= 12; index++) await storage.save(undefined, [entry(index, 1)], undefined);
    const segments = storage.segmentPaths();
    await storage.close();
    await rm(segments[1]!);
    await expect(DiskStorage.open(dir)).rejects.toThrow(`${segments[1]} at byte offset 0: this WAL segment is missing`);
  });

  it('compacts after a snapshot: drops old segments, still answers the snapshot term and the entries after it', async () => {
    const storage = await openStorage({ segmentBytes: 100 });
    for (let index = 1; index <= 20; index++) await storage.save({ term: 2, vote: 'a', commit: index }, [entry(index, index <= 10 ? 1 : 2)], undefined);
    const before = storage.segmentPaths();

    await storage.createSnapshot(8, conf, Buffer.from('state@8'));
    expect(storage.firstIndex()).toBe(9);
    expect(storage.term(8)).toBe(1);
    expect(() => storage.term(7)).toThrow(CompactedError);
    expect(() => storage.entries(8, 10)).toThrow(CompactedError);
    // The only snapshot: the WAL still reaches back to the empty log, should this one be found damaged.
    expect(storage.segmentPaths().slice(0, before.length)).toEqual(before);

    await storage.createSnapshot(15, conf, Buffer.from('state@15'));
    const after = storage.segmentPaths();
    expect(after.length).toBeLessThan(before.length);
    expect(after[0]! > before[0]!).toBe(true);
    expect(summary(storage)).toMatchObject({ first: 16, last: 20 });
    expect(storage.term(15)).toBe(2);
    expect(storage.snapshot()).toEqual({ metadata: { index: 15, term: 2, confState: conf }, data: Buffer.from('state@15') });
    expect((await readdir(dir)).filter((name) => name.startsWith('snapshot-'))).toEqual([snapshotFileName(8), snapshotFileName(15)]);

    const restarted = await reopen(storage, { segmentBytes: 100 });
    expect(summary(restarted)).toEqual(summary(storage));
    expect(restarted.term(15)).toBe(2);
    expect(restarted.initialState()).toEqual({ hardState: { term: 2, vote: 'a', commit: 20 }, confState: conf });
    expect(Buffer.from(restarted.snapshot().data).toString()).toBe('state@15');
    expect(warnings).toEqual([]);
  });

  it('keeps the newest two snapshots, and the WAL back to the older one to fall back to', async () => {
    const storage = await openStorage({ segmentBytes: 60 });
    for (let index = 1; index <= 30; index++) await storage.save(undefined, [entry(index, 1)], undefined);
    const before = storage.segmentPaths().length;
    for (const index of [5, 10, 20]) await storage.createSnapshot(index, conf, Buffer.from(`state@${index}`));
    expect((await readdir(dir)).filter((name) => name.startsWith('snapshot-'))).toEqual([snapshotFileName(10), snapshotFileName(20)]);
    expect(storage.segmentPaths().length).toBeLessThan(before);
    await storage.close();

    const newest = join(dir, snapshotFileName(20));
    await writeFile(newest, (await readFile(newest)).subarray(1));
    const restarted = await openStorage();
    expect(warnings[0]).toContain(`${newest}: damaged snapshot file`);
    expect(restarted.snapshot().metadata.index).toBe(10);
    expect(summary(restarted)).toMatchObject({ first: 11, last: 30 });
  });

  it('falls back to the older snapshot when the newest is damaged', async () => {
    const storage = await openStorage({ segmentBytes: 100 });
    for (let index = 1; index <= 20; index++) await storage.save({ term: 1, vote: '', commit: index }, [entry(index, 1)], undefined);
    await storage.createSnapshot(6, conf, Buffer.from('state@6'));
    await storage.createSnapshot(14, conf, Buffer.from('state@14'));
    await storage.close();
    const newest = join(dir, snapshotFileName(14));
    const data = await readFile(newest);
    data[data.length - 1]! ^= 0xff;
    await writeFile(newest, data);

    const restarted = await openStorage();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`${newest}: damaged snapshot file`);
    expect(restarted.snapshot().metadata.index).toBe(6);
    expect(summary(restarted)).toMatchObject({ first: 7, last: 20 });
    expect(await readdir(dir)).toContain(`${basename(newest)}.damaged`);
  });

  it('ignores and removes a snapshot file the WAL never marked complete', async () => {
    const storage = await openStorage();
    await storage.save(undefined, run(1, 5, 1), undefined);
    await storage.close();
    const unmarked = join(dir, snapshotFileName(4));
    await writeFile(unmarked, encodeRecord(encodeSnapshot({ metadata: { index: 4, term: 1, confState: conf }, data: Buffer.from('x') })));

    const restarted = await openStorage();
    expect(restarted.snapshot().metadata.index).toBe(0);
    expect(restarted.firstIndex()).toBe(1);
    expect(warnings).toEqual([`${unmarked}: removed, a snapshot a crash interrupted before the log recorded it`]);
    expect(await readdir(dir)).not.toContain(snapshotFileName(4));
  });

  it('installs a snapshot from the leader: the log restarts after it, also after a restart', async () => {
    const storage = await openStorage();
    await storage.save({ term: 1, vote: 'a', commit: 2 }, run(1, 6, 1), undefined);
    const snapshot = { metadata: { index: 10, term: 3, confState: conf }, data: Buffer.from('leader state') };
    await storage.save({ term: 3, vote: '', commit: 10 }, [entry(11, 3)], snapshot);

    const expected = { first: 11, last: 11, entries: [[11, 3, 'e11']] };
    expect(summary(storage)).toEqual(expected);
    expect(storage.term(10)).toBe(3);
    const restarted = await reopen(storage);
    expect(summary(restarted)).toEqual(expected);
    expect(restarted.snapshot()).toEqual(snapshot);
    expect(restarted.initialState()).toEqual({ hardState: { term: 3, vote: '', commit: 10 }, confState: conf });
  });

  it('rejects a snapshot older than the one it has', async () => {
    const storage = await openStorage();
    await storage.save(undefined, run(1, 5, 1), undefined);
    await storage.createSnapshot(4, conf, new Uint8Array());
    await expect(storage.createSnapshot(3, conf, new Uint8Array())).rejects.toThrow('not newer');
    const stale = { metadata: { index: 2, term: 1, confState: conf }, data: new Uint8Array() };
    await expect(storage.save(undefined, [], stale)).rejects.toThrow('not newer');
    await expect(storage.createSnapshot(9, conf, new Uint8Array())).rejects.toThrow('beyond last index');
    expect(summary(storage)).toMatchObject({ first: 5, last: 5 });
  });
});
