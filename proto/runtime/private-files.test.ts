import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repairPrivateTree } from './private-files';

describe('repairing a private directory tree', () => {
  let root: string;
  let outside: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'trellis-private-'));
    outside = mkdtempSync(join(tmpdir(), 'trellis-outside-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('takes group and other bits off every directory and file, reporting each, and leaves stricter modes alone', () => {
    chmodSync(root, 0o755);
    mkdirSync(join(root, 'raft'), { mode: 0o750 });
    writeFileSync(join(root, 'raft', 'wal-1.log'), 'x', { mode: 0o644 });
    writeFileSync(join(root, 'read-only'), 'x', { mode: 0o400 });
    expect(repairPrivateTree(root)).toEqual([
      { path: root, was: '0755', now: '0700' },
      { path: join(root, 'raft'), was: '0750', now: '0700' },
      { path: join(root, 'raft', 'wal-1.log'), was: '0644', now: '0600' },
    ]);
    expect(statSync(join(root, 'read-only')).mode & 0o777).toBe(0o400);
    expect(repairPrivateTree(root)).toEqual([]);
  });

  it('neither follows nor changes symbolic links, and finds nothing to do where there is no directory', () => {
    writeFileSync(join(outside, 'theirs'), 'x', { mode: 0o644 });
    chmodSync(root, 0o700);
    symlinkSync(join(outside, 'theirs'), join(root, 'link'));
    expect(repairPrivateTree(root)).toEqual([]);
    expect(statSync(join(outside, 'theirs')).mode & 0o777).toBe(0o644);
    expect(repairPrivateTree(join(root, 'missing'))).toEqual([]);
  });
});
