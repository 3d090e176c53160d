import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** What this program is: `trellis version` shows it for the CLI, and the GetVersion call for a manager. */
export interface BuildInfo {
  version: string;
  /** The git commit built; '' when unknown. */
  commit: string;
  /** When the release artifact was built (RFC 3339); '' when run from a checkout. */
  built: string;
  /** "sha256:HEX" of the release artifact running, as in the trellis.sha256 beside it; '' when run from a checkout. */
  checksum: string;
}

/** Stamped into the release artifact by `npm run release` (esbuild's define); absent when running from dist/. */
declare const TRELLIS_RELEASE: { version: string; commit: string; built: string } | undefined;

let known: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  known ??= typeof TRELLIS_RELEASE === 'undefined' ? checkoutBuild() : { ...TRELLIS_RELEASE, checksum: `sha256:${sha256Of(__filename)}` };
  return known;
}

/** The artifact is this very file, so its digest is computed, not stamped: a file cannot hold its own hash. */
export function sha256Of(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** From a checkout (dist/ or jest): package.json's version and the work tree's commit, if git is there to ask. */
function checkoutBuild(): BuildInfo {
  const root = repoRoot(__dirname);
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const git = spawnSync('git', ['-C', root, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return { version, commit: git.status === 0 ? git.stdout.trim() : '', built: '', checksum: '' };
}

function repoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    try {
      readFileSync(join(dir, 'package.json'));
      return dir;
    } catch {
      if (dir === dirname(dir)) throw new Error(`no package.json above ${start}`);
    }
  }
}
