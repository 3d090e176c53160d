import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** Opens the comment at the artifact's end that carries its native modules (see embedded-addons.ts). */
export const ADDONS_MARK = '/* trellis native modules ';
export const ADDONS_END = ' */';

/** Each carried module by name: its bytes (gzip, base64) and their sha256. */
export type AddonPayloads = Record<string, { sha256: string; packed: string }>;

/**
 * Loads a native module the artifact carries: its bytes are read from the comment at the end of
 * the artifact (only now, so nothing else pays for them), checked against the sha256 taken at
 * build time, written into a fresh private directory (mkdtemp: a random name, mode 0700, so no
 * other user can swap the file before it is loaded), loaded with process.dlopen, and removed at
 * once: the mapping outlives the file.
 */
export function loadEmbeddedAddon(artifact: string, name: string, sha256: string): unknown {
  const text = readFileSync(artifact, 'latin1');
  const start = text.lastIndexOf(ADDONS_MARK);
  const end = text.indexOf(ADDONS_END, start);
  const payloads = start < 0 || end < 0 ? {} : (JSON.parse(text.slice(start + ADDONS_MARK.length, end)) as AddonPayloads);
  const payload = payloads[name];
  const bytes = payload === undefined ? undefined : gunzipSync(Buffer.from(payload.packed, 'base64'));
  const actual = bytes === undefined ? 'nothing' : createHash('sha256').update(bytes).digest('hex');
  if (bytes === undefined || actual !== sha256) {
    throw new Error(`the native module ${name} in ${artifact} is missing or damaged (sha256 ${actual}, built as ${sha256}): install the release again`);
  }
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
