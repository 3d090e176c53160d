import { createHash } from 'node:crypto';

/*
 * Node 20 compiles a 2 MB bundle anew on every start (about 30 ms of CPU here, a fifth of a CLI
 * call); Node 22's module.enableCompileCache is not there yet. So the artifact is a short loader
 * and the bundle as a string literal (which V8 scans, not parses); the loader compiles it with V8's
 * code cache, kept per user in $XDG_CACHE_HOME/trellis (~/.cache/trellis, mode 0700) and written at
 * the end of the first run (replacing other builds' caches). A missing, unwritable or rejected cache
 * only means a normal compile.
 * The daemons (`trellis manager`, `trellis agent`) neither read nor write it: their start-up cost
 * does not matter, and their home directory is not a place to leave files in.
 */
export function withCodeCache(bundle: string): string {
  const body = bundle.replace(/^#!.*\n/, '');
  const buildId = createHash('sha256').update(body).digest('hex').slice(0, 16);
  return `#!/usr/bin/env node
"use strict";
// Trellis release artifact: the loader at the end compiles BUNDLE (esbuild's bundle of cli/main.ts) with V8's code cache.
const BUNDLE = ${JSON.stringify(body)};
(function load() {
  const fs = require('node:fs'), path = require('node:path'), vm = require('node:vm'), os = require('node:os');
  const daemon = process.argv[2] === 'manager' || process.argv[2] === 'agent';
  const dir = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'trellis');
  const file = path.join(dir, ${JSON.stringify(buildId)} + '-' + process.version + '-' + process.arch + '.v8cache');
  let cachedData;
  if (!daemon) try { cachedData = fs.readFileSync(file); } catch {}
  const script = new vm.Script('(function (exports, require, module, __filename, __dirname) {' + BUNDLE + '\\n})', { filename: __filename, cachedData });
  if (!daemon && (cachedData === undefined || script.cachedDataRejected)) {
    process.once('exit', () => {
      try {
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        const temporary = file + '.' + process.pid;
        fs.writeFileSync(temporary, script.createCachedData(), { mode: 0o600 });
        fs.renameSync(temporary, file);
        // Caches of other builds (an upgraded trellis) would only take room.
        for (const old of fs.readdirSync(dir)) if (old.endsWith('.v8cache') && old !== path.basename(file)) fs.rmSync(path.join(dir, old), { force: true });
      } catch {}
    });
  }
  script.runInThisContext().call(module.exports, module.exports, require, module, __filename, __dirname);
})();
`;
}
