import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../proto/runtime/private-files';

/**
 * A file in the agent's state directory listing the namespace names where it made something that
 * outlives a crash (sandbox files, load-balancing tables): a name enters before the thing is made
 * and leaves after it is gone, so a restarted agent finds every leftover of its own, and only those,
 * without reading every namespace of the node.
 */
export class NameLedger {
  constructor(private readonly path: string) {}

  names(): string[] {
    if (!existsSync(this.path)) return [];
    return readFileSync(this.path, 'utf8').split('\n').filter((name) => name !== '' && isPlainName(name));
  }

  /** Replaces the list (in one rename); writes nothing when it is already that list. */
  record(names: Iterable<string>): void {
    const content = [...new Set(names)].sort().map((name) => `${name}\n`).join('');
    // The ledger lives in the agent's state directory, its owner's alone.
    mkdirSync(dirname(this.path), { recursive: true, mode: PRIVATE_DIR_MODE });
    replaceFile(this.path, content, PRIVATE_FILE_MODE);
  }
}

/** A ledger line names a namespace (a directory under /etc/netns), never a path that climbs out of it. */
function isPlainName(name: string): boolean {
  return !name.includes('/') && name !== '.' && name !== '..';
}

/** Replaces the file in one rename, so no reader sees half of it; a new file gets `mode`. Returns whether it wrote. */
export function replaceFile(path: string, content: string, mode = 0o644): boolean {
  if (existsSync(path) && readFileSync(path, 'utf8') === content) return false;
  rmSync(`${path}.tmp`, { force: true });
  writeFileSync(`${path}.tmp`, content, { mode });
  renameSync(`${path}.tmp`, path);
  return true;
}
