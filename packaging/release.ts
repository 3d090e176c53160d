import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { sha256Of } from '../proto/runtime/build-info';
import { reflectionFiles } from '../proto/runtime/proto-files';
import { withCodeCache } from './code-cache';
import { EmbeddedAddons } from './embedded-addons';
import { embeddedProtoLoader } from './embedded-protos';

/** Where `npm run release` puts the artifact, and the checksum file beside it (`sha256sum -c` reads it). */
export interface Release {
  artifact: string;
  checksumFile: string;
  sha256: string;
}

function gitCommit(repoRoot: string): string {
  const head = spawnSync('git', ['-C', repoRoot, 'rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  if (head.status !== 0) return '';
  const dirty = spawnSync('git', ['-C', repoRoot, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? '-dirty' : ''}`;
}

/**
 * One file for the CLI, the manager and the agent: cli/main.ts and everything it loads, bundled
 * by esbuild into CommonJS for the system's `node` (20 or later). Modules the CLI loads with
 * require() at the point of use stay lazy in the bundle (esbuild evaluates them on first require),
 * so a CLI call evaluates only what it uses. The .proto files reflection serves, and those
 * dependencies parse at run time, are built in, and so is koffi's native module for Linux x64 and
 * arm64 (see embedded-addons.ts). The file written is a loader and the bundle
 * (see code-cache.ts); the dependencies' license notices are kept at the bundle's end.
 */
export async function buildRelease(repoRoot: string, outDir = join(repoRoot, 'dist', 'release')): Promise<Release> {
  const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const stamp = { version, commit: gitCommit(repoRoot), built: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
  const files = reflectionFiles();

  const addons = new EmbeddedAddons();
  const artifact = join(outDir, 'trellis');
  mkdirSync(dirname(artifact), { recursive: true });
  const result = await build({
    entryPoints: [join(repoRoot, 'cli', 'main.ts')],
    write: false,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'eof',
    define: {
      TRELLIS_RELEASE: JSON.stringify(stamp),
      TRELLIS_REFLECTION_FILES: JSON.stringify(files.map((file) => file.toString('base64'))),
    },
    plugins: [embeddedProtoLoader(), addons.plugin()],
    logLevel: 'warning',
  });
  const [bundle] = result.outputFiles;
  if (result.errors.length > 0 || !bundle) throw new Error(`release: esbuild failed: ${result.errors.map((error) => error.text).join('; ')}`);
  writeFileSync(artifact, withCodeCache(bundle.text) + addons.trailer(), { mode: 0o755 });
  chmodSync(artifact, 0o755);
  const sha256 = sha256Of(artifact);
  const checksumFile = `${artifact}.sha256`;
  writeFileSync(checksumFile, `${sha256}  ${basename(artifact)}\n`);
  return { artifact, checksumFile, sha256 };
}

if (require.main === module) {
  buildRelease(join(__dirname, '..', '..')).then(
    (release) => process.stdout.write(`${release.artifact}\n${release.checksumFile}: sha256 ${release.sha256}\n`),
    (error: unknown) => {
      process.stderr.write(`release: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
