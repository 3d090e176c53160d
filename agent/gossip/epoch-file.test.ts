import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EPOCH_FILE, nextEpoch } from './epoch-file';

describe('the gossip epoch kept in the state directory', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'trellis-gossip-epoch-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('grows at every start even when the clock goes back, and is kept on disk', () => {
    const first = nextEpoch(dir, 1_700_000_000_000);
    const second = nextEpoch(dir, 1_000);
    expect(first).toBe(1_700_000_000);
    expect(second).toBe(first + 1);
    expect(readFileSync(join(dir, EPOCH_FILE), 'utf8')).toBe(`${second}\n`);
  });

  it('starts above every earlier epoch from the clock when the file was lost', () => {
    const before = nextEpoch(dir, 1_700_000_000_000);
    rmSync(join(dir, EPOCH_FILE));
    expect(nextEpoch(dir, 1_700_000_100_000)).toBeGreaterThan(before);
  });

  it('refuses a file that does not hold a number, naming it and the fix, and leaves it as it is', () => {
    writeFileSync(join(dir, EPOCH_FILE), 'garbage');
    expect(() => nextEpoch(dir, 0)).toThrow(`${join(dir, EPOCH_FILE)} holds "garbage", not a gossip epoch (a whole number): remove the file`);
    expect(readFileSync(join(dir, EPOCH_FILE), 'utf8')).toBe('garbage');
  });
});
