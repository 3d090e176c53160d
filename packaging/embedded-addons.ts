import type { Plugin } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** The platforms whose koffi.node the artifact carries (koffi names them by directory). */
const CARRIED = new Set(['linux_x64', 'linux_arm64']);

const NAMESPACE = 'trellis-embedded-addon';

/**
 * koffi (the agent's FFI for setns and libnftables) loads its native module with a static
 * require per platform. In the bundle, each such require of a carried platform becomes a module
 * holding that file's bytes (gzip, base64) and their sha256, loaded by embedded-addon-runtime.ts
 * only when koffi itself is first required; every other platform's require fails, as a missing
 * file would, and koffi reports it. The CLI's other commands never evaluate these modules.
 */
export function embeddedAddons(): Plugin {
  const runtime = join(__dirname, 'embedded-addon-runtime');
  return {
    name: 'embedded-addons',
    setup(build) {
      build.onResolve({ filter: /\.node$/ }, (args) => ({ path: join(args.resolveDir, args.path), namespace: NAMESPACE }));
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => {
        const platform = basename(dirname(args.path));
        if (!CARRIED.has(platform)) {
          return { contents: `throw new Error(${JSON.stringify(`this trellis carries ${basename(args.path)} for ${[...CARRIED].join(' and ')} only, not ${platform}`)});`, loader: 'js' };
        }
        const bytes = readFileSync(args.path);
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        const packed = gzipSync(bytes, { level: 9 }).toString('base64');
        return {
          contents: `module.exports = require(${JSON.stringify(runtime)}).loadEmbeddedAddon(${JSON.stringify(`${platform}-${basename(args.path)}`)}, ${JSON.stringify(sha256)}, ${JSON.stringify(packed)});`,
          loader: 'js',
          resolveDir: __dirname,
        };
      });
    },
  };
}
