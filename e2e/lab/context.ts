/** Where the lab lives on disk: the repository it runs the CLI from, and its lab directory. */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface LabContext {
  repoRoot: string;
  labDir: string;
  /** the node binary daemons and CLI calls run on */
  nodePath: string;
  /** progress and warnings for the user; stdout is kept for the JSON answer */
  note: (message: string) => void;
}

export const LAB_DIR_ENV = 'TRELLIS_LAB_DIR';

export function defaultContext(env: NodeJS.ProcessEnv = process.env): LabContext {
  const repoRoot = findRepoRoot(__dirname);
  return {
    repoRoot,
    labDir: path.resolve(env[LAB_DIR_ENV] ?? path.join(repoRoot, '.lab')),
    nodePath: process.execPath,
    note: (message) => process.stderr.write(`lab: ${message}\n`),
  };
}

/** The nearest folder holding package.json: the same from e2e/lab (tests) and dist/e2e/lab (built). */
export function findRepoRoot(start: string): string {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (dir === path.dirname(dir)) throw new Error(`no package.json above ${start}`);
  }
}
