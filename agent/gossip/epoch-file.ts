import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const EPOCH_FILE = 'gossip-epoch';

/**
 * This start's gossip epoch (OwnEntries): one more than the last start's, kept in the state
 * directory and on disk (fsynced, renamed into place) before any version of it is announced,
 * so a crash cannot make a later start reuse it. It is also at least the Unix time in seconds:
 * should the file be lost, a sane clock still puts the new epoch above every earlier one
 * (the file alone keeps epochs increasing when the clock is not sane).
 */
export function nextEpoch(stateDir: string, nowMs: number): number {
  const path = join(stateDir, EPOCH_FILE);
  const previous = readPrevious(path);
  const epoch = Math.max(previous + 1, Math.floor(nowMs / 1000));
  const temporary = `${path}.tmp`;
  const fd = openSync(temporary, 'w', 0o600);
  try {
    writeSync(fd, `${epoch}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  const directory = openSync(dirname(path), 'r');
  try {
    fsyncSync(directory);
  } finally {
    closeSync(directory);
  }
  return epoch;
}

function readPrevious(path: string): number {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  const value = Number(text.trim());
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${path} holds "${text.trim().slice(0, 40)}", not a gossip epoch (a whole number): remove the file and the agent starts a new epoch from the clock`);
  }
  return value;
}
