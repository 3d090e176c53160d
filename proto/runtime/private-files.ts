import { chmodSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/*
 * Every directory a daemon keeps (a manager's data dir, an agent's state dir, a TLS dir) holds
 * keys or what decrypts them: Raft log and snapshots, certificates, ledgers. Its owner alone may
 * read any of it. Files and directories are created with these modes (never chmod'ed after, which
 * leaves a window), and `repairPrivateTree` puts back what was changed by hand or made by an older
 * version.
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** One path whose mode was wrong, as it was and as it is now. */
export interface RepairedMode {
  path: string;
  was: string;
  now: string;
}

const octal = (mode: number): string => `0${(mode & 0o777).toString(8)}`;

/**
 * Walks `dir` (when it exists) and takes group and other permissions off every directory and
 * file in it, the directory itself included; returns what it changed. Symbolic links are neither
 * followed nor changed: their own mode means nothing, and what they point at is not ours.
 */
export function repairPrivateTree(dir: string): RepairedMode[] {
  const repaired: RepairedMode[] = [];
  const visit = (path: string): void => {
    let stat;
    try {
      stat = lstatSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    if (stat.isSymbolicLink()) return;
    const wanted = stat.isDirectory() ? PRIVATE_DIR_MODE : PRIVATE_FILE_MODE;
    if ((stat.mode & 0o077) !== 0) {
      chmodSync(path, wanted);
      repaired.push({ path, was: octal(stat.mode), now: octal(wanted) });
    }
    if (stat.isDirectory()) for (const name of readdirSync(path).sort()) visit(join(path, name));
  };
  visit(dir);
  return repaired;
}

/** `repairPrivateTree`, with one warning per path fixed through `warn` (a daemon's logger, the CLI's stderr). */
export function repairPrivateTreeWarning(dir: string, warn: (repaired: RepairedMode, message: string) => void): void {
  for (const repaired of repairPrivateTree(dir)) {
    warn(repaired, `${repaired.path} was readable by other users (mode ${repaired.was}); set to ${repaired.now}`);
  }
}
