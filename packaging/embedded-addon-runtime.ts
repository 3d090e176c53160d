import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/**
 * Loads a native module the artifact carries (see embedded-addons.ts): its bytes, checked against
 * the sha256 taken at build time, are written into a fresh private directory (mkdtemp: a random
 * name, mode 0700, so no other user can swap the file before it is loaded), loaded with
 * process.dlopen, and removed at once: the mapping outlives the file.
 */
export function loadEmbeddedAddon(name: string, sha256: string, packed: string): unknown {
  const bytes = gunzipSync(Buffer.from(packed, 'base64'));
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== sha256) throw new Error(`the native module ${name} in this trellis is damaged (sha256 ${actual}, built as ${sha256}): download the release again`);
  const dir = mkdtempSync(join(tmpdir(), 'trellis-native-'));
  try {
    const file = join(dir, name);
    writeFileSync(file, bytes, { mode: 0o500, flag: 'wx' });
    const module = { exports: {} };
    try {
      process.dlopen(module, file);
    } catch (error) {
      throw new Error(`cannot load the native module ${name} from ${dir}: ${(error as Error).message} (a TMPDIR mounted noexec? set TMPDIR to a directory that allows it)`);
    }
    return module.exports;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
