import type { Plugin } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ADDONS_END, ADDONS_MARK, type AddonPayloads } from './embedded-addon-runtime';

/** The platforms whose koffi.node the artifact carries (koffi names them by directory). */
const CARRIED = new Set(['linux_x64', 'linux_arm64']);

const NAMESPACE = 'trellis-embedded-addon';

/**
 * koffi (the agent's FFI for setns and libnftables) loads its native module with a static
 * require per platform. In the bundle, the require of a carried platform's module becomes a call
 * that loads it from the artifact's last lines (`trailer()`: a comment, which costs the CLI a
 * scan, not a string the size of the modules) when koffi itself is first required; the require of
 * any other platform's fails, as a missing file would, and koffi reports it.
 */
export class EmbeddedAddons {
  private readonly payloads: AddonPayloads = {};

  plugin(): Plugin {
    const runtime = join(__dirname, 'embedded-addon-runtime');
    return {
      name: 'embedded-addons',
      setup: (build) => {
        build.onResolve({ filter: /\.node$/ }, (args) => ({ path: join(args.resolveDir, args.path), namespace: NAMESPACE }));
        build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => {
          const platform = basename(dirname(args.path));
          const name = `${platform}-${basename(args.path)}`;
          if (!CARRIED.has(platform)) {
            return { contents: `throw new Error(${JSON.stringify(`this trellis carries ${basename(args.path)} for ${[...CARRIED].join(' and ')} only, not ${platform}`)});`, loader: 'js' };
          }
          const bytes = readFileSync(args.path);
          const sha256 = createHash('sha256').update(bytes).digest('hex');
          this.payloads[name] = { sha256, packed: gzipSync(bytes, { level: 9 }).toString('base64') };
          // __filename in the bundle is the artifact's own path (the loader passes it in).
          return { contents: `module.exports = require(${JSON.stringify(runtime)}).loadEmbeddedAddon(__filename, ${JSON.stringify(name)}, ${JSON.stringify(sha256)});`, loader: 'js', resolveDir: __dirname };
        });
      },
    };
  }

  /** The comment to end the artifact with: every module the bundle asked for. */
  trailer(): string {
    return `${ADDONS_MARK}${JSON.stringify(this.payloads)}${ADDONS_END}\n`;
  }
}
