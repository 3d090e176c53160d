import type { Plugin } from 'esbuild';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ADDONS_END, ADDONS_MARK, type AddonPayloads } from './embedded-addon-runtime';

/** The platforms whose koffi.node the artifact carries (koffi names them by directory). */
const CARRIED = new Set(['linux_x64', 'linux_arm64']);

/**
 * The packages whose binding.js loads their native module through require-addon, from
 * prebuilds/<platform>-<arch>/<package>.node: hyperswarm's and hyperdht's (the gossip DHT), both
 * shipping prebuilds for linux-x64 and linux-arm64.
 */
const PREBUILT_PACKAGES = ['sodium-native', 'udx-native'];
const PREBUILT_PLATFORMS = ['linux-x64', 'linux-arm64'];
const PREBUILT_BINDING = new RegExp(`[\\\\/]node_modules[\\\\/](${PREBUILT_PACKAGES.join('|')})[\\\\/]binding\\.js$`);

const NAMESPACE = 'trellis-embedded-addon';

/**
 * The native modules the artifact carries: koffi's (the agent's FFI for setns and libnftables),
 * and sodium-native's and udx-native's (the gossip DHT). koffi loads its module with a static
 * require per platform; the other two with require-addon, which looks for files beside the
 * package. In the bundle, each becomes a call that loads the module from the artifact's last lines
 * (`trailer()`: a comment, which costs the CLI a scan, not a string the size of the modules) when
 * the package is first required; on a platform the artifact carries no module for, that call
 * fails, as a missing file would, and the package reports it.
 */
export class EmbeddedAddons {
  private readonly payloads: AddonPayloads = {};
  private readonly runtime = join(__dirname, 'embedded-addon-runtime');

  plugin(): Plugin {
    return {
      name: 'embedded-addons',
      setup: (build) => {
        build.onResolve({ filter: /\.node$/ }, (args) => ({ path: join(args.resolveDir, args.path), namespace: NAMESPACE }));
        build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => {
          const platform = basename(dirname(args.path));
          if (!CARRIED.has(platform)) return { contents: this.refusal(basename(args.path), [...CARRIED], JSON.stringify(platform)), loader: 'js' };
          return { contents: `module.exports = ${this.loadCall(this.embed(`${platform}-${basename(args.path)}`, args.path))};`, loader: 'js', resolveDir: __dirname };
        });
        build.onLoad({ filter: PREBUILT_BINDING }, (args) => ({ contents: this.prebuiltBinding(args.path), loader: 'js', resolveDir: __dirname }));
      },
    };
  }

  /** The comment to end the artifact with: every module the bundle asked for. */
  trailer(): string {
    return `${ADDONS_MARK}${JSON.stringify(this.payloads)}${ADDONS_END}\n`;
  }

  /** A package's binding.js made into: load this platform's prebuilt module from the artifact. */
  private prebuiltBinding(bindingPath: string): string {
    const packageDir = dirname(bindingPath);
    const file = `${basename(packageDir)}.node`;
    const carried: Record<string, string> = {};
    for (const platform of PREBUILT_PLATFORMS) {
      const prebuilt = join(packageDir, 'prebuilds', platform, file);
      if (existsSync(prebuilt)) carried[platform] = this.loadCall(this.embed(`${platform}-${file}`, prebuilt));
    }
    const platforms = Object.keys(carried);
    if (platforms.length === 0) throw new Error(`release: ${packageDir} has no prebuilt ${file} for ${PREBUILT_PLATFORMS.join(' or ')}`);
    const cases = platforms.map((platform) => `case ${JSON.stringify(platform)}: module.exports = ${carried[platform]}; break;`).join('\n');
    const platformNow = 'process.platform + "-" + process.arch';
    return `switch (${platformNow}) {\n${cases}\ndefault: ${this.refusal(file, platforms, platformNow)}\n}`;
  }

  /** Records a module's bytes for the trailer; returns its name there and its sha256. */
  private embed(name: string, path: string): { name: string; sha256: string } {
    const bytes = readFileSync(path);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    this.payloads[name] = { sha256, packed: gzipSync(bytes, { level: 9 }).toString('base64') };
    return { name, sha256 };
  }

  /** The expression that loads a carried module (__filename in the bundle is the artifact's own path: the loader passes it in). */
  private loadCall({ name, sha256 }: { name: string; sha256: string }): string {
    return `require(${JSON.stringify(this.runtime)}).loadEmbeddedAddon(__filename, ${JSON.stringify(name)}, ${JSON.stringify(sha256)})`;
  }

  /** A statement throwing what a user on another platform reads; `platform` is a JS expression. */
  private refusal(file: string, carried: readonly string[], platform: string): string {
    return `throw new Error(${JSON.stringify(`this trellis carries ${file} for ${carried.join(' and ')} only, not `)} + ${platform});`;
  }
}
