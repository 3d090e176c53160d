import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileLog, LOG_FILE_NAME } from './file-log';
import { encodeRecord } from './record';

const entry = (text: string): Uint8Array => Buffer.from(text, 'utf8');
const texts = (entries: Uint8Array[]): string[] => entries.map((bytes) => Buffer.from(bytes).toString('utf8'));

let dir: string;
let logFile: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trellis-log-'));
  logFile = join(dir, LOG_FILE_NAME);
});

afterEach(async () => {
  jest.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

async function reopen(): Promise<string[]> {
  const { log, entries } = await FileLog.open(dir);
  await log.close();
  return texts(entries);
}

describe('FileLog', () => {
  it('starts empty, and replays what was appended after a reopen', async () => {
    const first = await FileLog.open(join(dir, 'nested'));
    expect(first.entries).toEqual([]);
    expect(await first.log.append(entry('one'))).toBe(1);
    expect(await first.log.append(entry('two'))).toBe(2);
    await first.log.close();

    const second = await FileLog.open(join(dir, 'nested'));
    expect(texts(second.entries)).toEqual(['one', 'two']);
    expect(await second.log.append(entry('three'))).toBe(3);
    await second.log.close();
  });

  it('gives concurrent appends consecutive indexes in call order, and keeps them all', async () => {
    const { log } = await FileLog.open(dir);
    const burst = Array.from({ length: 300 }, (_, i) => log.append(entry(`a${i}`)));
    const afterFirstWrite = burst[0]!.then(() => Array.from({ length: 50 }, (_, i) => log.append(entry(`b${i}`))));
    const indexes = [...(await Promise.all(burst)), ...(await Promise.all(await afterFirstWrite))];
    await log.close();

    expect(indexes).toEqual(Array.from({ length: 350 }, (_, i) => i + 1));
    const expected = [...Array.from({ length: 300 }, (_, i) => `a${i}`), ...Array.from({ length: 50 }, (_, i) => `b${i}`)];
    expect(await reopen()).toEqual(expected);
  });

  it('syncs once for all the appends of one event-loop turn', async () => {
    const { log } = await FileLog.open(dir);
    const probe = await open(join(dir, 'probe'), 'w');
    const datasync = jest.spyOn(Object.getPrototypeOf(probe) as { datasync(): Promise<void> }, 'datasync');
    await probe.close();

    await Promise.all(Array.from({ length: 100 }, (_, i) => log.append(entry(`${i}`))));
    expect(datasync).toHaveBeenCalledTimes(1);
    await log.close();
  });

  it('resolves an append only after its entry is in the file', async () => {
    const { log } = await FileLog.open(dir);
    await log.append(entry('durable'));
    expect(await readFile(logFile)).toEqual(encodeRecord(entry('durable')));
    await log.close();
  });

  it('finishes pending appends on close, and refuses appends after it', async () => {
    const { log } = await FileLog.open(dir);
    const pending = log.append(entry('last'));
    await log.close();
    await expect(pending).resolves.toBe(1);
    await expect(log.append(entry('late'))).rejects.toThrow('append after close');
    expect(await reopen()).toEqual(['last']);
  });

  it('cuts off a torn tail with a warning, and goes on from there', async () => {
    const whole = Buffer.concat([encodeRecord(entry('one')), encodeRecord(entry('two'))]);
    const torn = encodeRecord(entry('three, cut short')).subarray(0, 11);
    await writeFile(logFile, Buffer.concat([whole, torn]));
    const warnings: string[] = [];

    const { log, entries } = await FileLog.open(dir, { onWarning: (message) => warnings.push(message) });
    expect(texts(entries)).toEqual(['one', 'two']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(logFile);
    expect(warnings[0]).toContain(`offset ${whole.length}`);
    expect((await stat(logFile)).size).toBe(whole.length);

    expect(await log.append(entry('three'))).toBe(3);
    await log.close();
    expect(await reopen()).toEqual(['one', 'two', 'three']);
  });

  it('cuts off a tail record whose checksum fails', async () => {
    const records = [encodeRecord(entry('one')), encodeRecord(entry('two'))];
    const data = Buffer.concat(records);
    data[data.length - 1]! ^= 0x01;
    await writeFile(logFile, data);
    expect(await reopen()).toEqual(['one']);
  });

  it('refuses to open when damage is followed by valid records, naming the file and offset', async () => {
    const records = [encodeRecord(entry('one')), encodeRecord(entry('two')), encodeRecord(entry('three'))];
    const data = Buffer.concat(records);
    data[records[0]!.length + 9]! ^= 0x01;
    await writeFile(logFile, data);

    await expect(FileLog.open(dir)).rejects.toThrow(`${logFile}: the record at byte offset ${records[0]!.length} is damaged`);
    expect(await readFile(logFile)).toEqual(data);
  });
});
