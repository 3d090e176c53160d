/**
 * A lab that runs a release artifact (`up --from-release`): the artifact checked and copied into
 * the lab, the CLI wrapper `lab exec` puts on PATH, the daemons' config files written by deploy/'s
 * own render-config.sh, and the cluster created by the artifact's `trellis cluster init`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256Of } from '../../proto/runtime/build-info';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../proto/runtime/private-files';
import { cliDir, releaseCopy, releaseWrapper, renderConfigScript, type HostConfig, type LabJoinTokens } from './plan';
import { run } from './run';
import type { LabRelease } from './state';

/** Where `npm run release` writes the artifact: what `--from-release` runs when given no path. */
export function defaultRelease(repoRoot: string): string {
  return path.join(repoRoot, 'dist', 'release', 'trellis');
}

/**
 * The artifact at `given` (default: the repository's dist/release/trellis), refused unless its
 * .sha256 beside it matches, as install.sh refuses it; copied into the lab, where a rebuild or
 * a deleted build directory cannot change what a later restart runs.
 */
export function takeRelease(repoRoot: string, labDir: string, given?: string): LabRelease {
  const source = path.resolve(given ?? defaultRelease(repoRoot));
  if (!fs.existsSync(source)) {
    const build = given === undefined ? 'build it with `npm run release`' : 'give the path of a release artifact';
    throw new Error(`--from-release: no release artifact at ${source}; ${build} (it writes dist/release/trellis and its .sha256)`);
  }
  const checksumFile = `${source}.sha256`;
  if (!fs.existsSync(checksumFile)) throw new Error(`--from-release: no checksum ${checksumFile} beside the artifact (\`npm run release\` writes one)`);
  const want = fs.readFileSync(checksumFile, 'utf8').split(/\s/)[0] ?? '';
  const sha256 = sha256Of(source);
  if (sha256 !== want) throw new Error(`--from-release: ${source} has sha256 ${sha256}, but ${checksumFile} says ${want}; rebuild it with \`npm run release\``);
  const artifact = releaseCopy(labDir, sha256);
  fs.mkdirSync(path.dirname(artifact), { recursive: true });
  fs.copyFileSync(source, artifact);
  fs.chmodSync(artifact, 0o755);
  return { source, sha256, artifact };
}

/** The `trellis` that `lab exec` finds first on PATH: the lab's artifact. */
export function writeCliWrapper(repoRoot: string, labDir: string, nodePath: string, release: LabRelease): void {
  const wrapper = path.join(cliDir(repoRoot, labDir, release.artifact), 'trellis');
  fs.mkdirSync(path.dirname(wrapper), { recursive: true });
  fs.writeFileSync(wrapper, releaseWrapper(nodePath, release.artifact), { mode: 0o755 });
}

/** A host's config file, written by deploy/render-config.sh from its role's template, as install.sh and vagrant/ write theirs. */
export async function writeConfig(repoRoot: string, config: HostConfig): Promise<void> {
  const text = await run(['bash', renderConfigScript(repoRoot), config.template, ...config.settings.map(([key, value]) => `${key}=${value}`)]);
  fs.mkdirSync(path.dirname(config.file), { recursive: true, mode: PRIVATE_DIR_MODE });
  fs.writeFileSync(config.file, text, { mode: PRIVATE_FILE_MODE });
}

/** `trellis cluster init` of the artifact itself, for the first manager's data dir; its tokens for the hosts that join. */
export async function initClusterFromRelease(nodePath: string, release: LabRelease, dataDir: string, adminDir: string): Promise<LabJoinTokens> {
  const answer = await run([nodePath, release.artifact, 'cluster', 'init', '--data-dir', dataDir, '--admin-dir', adminDir, '--format', 'json'], { timeoutMs: 60_000 });
  const { joinTokens } = JSON.parse(answer) as { joinTokens?: LabJoinTokens };
  if (!joinTokens?.worker || !joinTokens.manager) throw new Error(`trellis cluster init printed no join tokens: ${answer.slice(0, 200)}`);
  return joinTokens;
}
