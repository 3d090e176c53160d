import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRepoRoot } from '../e2e/lab/context';
import { previousReleaseCommit } from './previous-release';

const repoRoot = findRepoRoot(__dirname);
const named = previousReleaseCommit(repoRoot);
const itWithHistory = 'commit' in named ? it : it.skip;

/** Where the upgrade tests get version N from, and the reason they give when they cannot. */
describe('the previous release', () => {
  itWithHistory('is a commit of this repository, named in packaging/previous-release-commit', () => {
    expect(named).toEqual({ commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
  });

  it('is unavailable in a shallow clone, which the reason names with the command that fixes it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-shallow-'));
    try {
      const clone = spawnSync('git', ['clone', '--quiet', '--depth', '1', `file://${repoRoot}`, join(dir, 'repo')], { encoding: 'utf8' });
      expect(clone.stderr).toBe('');
      const found = previousReleaseCommit(join(dir, 'repo'), '63b9af5559f5b70c469e65a31d7bea0643847b29');
      expect(found).toEqual({ unavailable: expect.stringContaining('is not in this clone\'s history (a shallow clone: `git fetch --unshallow` brings it)') });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is unavailable outside a git checkout', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-no-git-'));
    try {
      expect(previousReleaseCommit(dir, '63b9af5')).toEqual({ unavailable: expect.stringContaining('is not a git checkout') });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
