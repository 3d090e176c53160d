import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Of } from '../proto/runtime/build-info';

/**
 * The previous release's artifact (version N), for the upgrade tests: built by that commit's own
 * `npm run release` from the repository's history, in a clone that shares this repository's
 * objects, with this checkout's node_modules. Kept in dist/previous-release/COMMIT once built.
 */
export type PreviousRelease = { artifact: string; commit: string } | { unavailable: string };

/** The file naming the previous release's commit (its last non-comment line). */
export function previousReleaseFile(repoRoot: string): string {
  return join(repoRoot, 'packaging', 'previous-release-commit');
}

function git(repoRoot: string, args: string[]): { ok: boolean; out: string } {
  const run = spawnSync('git', ['-C', repoRoot, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { ok: run.status === 0, out: (run.stdout ?? '').trim() };
}

function namedCommit(repoRoot: string): string | undefined {
  return readFileSync(previousReleaseFile(repoRoot), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .at(-1);
}

/** The full commit of the previous release (`named`, default: the file's), or why this checkout cannot have it. */
export function previousReleaseCommit(repoRoot: string, named = namedCommit(repoRoot)): { commit: string } | { unavailable: string } {
  if (!named) return { unavailable: `${previousReleaseFile(repoRoot)} names no commit` };
  if (!git(repoRoot, ['rev-parse', '--git-dir']).ok) return { unavailable: `${repoRoot} is not a git checkout, so the previous release (${named}) cannot be built from its history` };
  const found = git(repoRoot, ['rev-parse', '--verify', '--quiet', `${named}^{commit}`]);
  if (found.ok) return { commit: found.out };
  const shallow = git(repoRoot, ['rev-parse', '--is-shallow-repository']).out === 'true';
  return {
    unavailable: `the previous release's commit ${named} is not in this clone's history${shallow ? ' (a shallow clone: `git fetch --unshallow` brings it)' : ''}`,
  };
}

/**
 * The previous release's artifact and its .sha256, built once (a few tens of seconds) and then
 * taken from dist/previous-release/COMMIT. Throws with the build's output when the build fails.
 */
export function previousRelease(repoRoot: string): PreviousRelease {
  const wanted = previousReleaseCommit(repoRoot);
  if ('unavailable' in wanted) return wanted;
  const { commit } = wanted;
  const kept = join(repoRoot, 'dist', 'previous-release', commit);
  const artifact = join(kept, 'trellis');
  if (existsSync(`${artifact}.sha256`) && readFileSync(`${artifact}.sha256`, 'utf8').startsWith(sha256Of(artifact))) return { artifact, commit };

  const work = mkdtempSync(join(tmpdir(), 'trellis-previous-release-'));
  try {
    const tree = join(work, 'tree');
    // A clone, not `git archive`: the release stamps the commit it was built from, which it asks git for.
    for (const args of [
      ['clone', '--quiet', '--shared', '--no-checkout', repoRoot, tree],
      ['-C', tree, 'checkout', '--quiet', '--detach', commit],
    ]) {
      const run = spawnSync('git', args, { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${run.stderr}`);
    }
    symlinkSync(realpathSync(join(repoRoot, 'node_modules')), join(tree, 'node_modules'));
    const build = spawnSync('npm', ['run', '--silent', 'release'], { cwd: tree, encoding: 'utf8', timeout: 600_000 });
    if (build.status !== 0) throw new Error(`the previous release's own \`npm run release\` (commit ${commit}) failed:\n${build.stderr}${build.stdout}`);
    // Put in place by rename, so that another test process never sees half of it.
    const staging = `${kept}.${process.pid}`;
    mkdirSync(staging, { recursive: true });
    for (const file of ['trellis', 'trellis.sha256']) copyFileSync(join(tree, 'dist', 'release', file), join(staging, file));
    rmSync(kept, { recursive: true, force: true });
    renameSync(staging, kept);
    return { artifact, commit };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
