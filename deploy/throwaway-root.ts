import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

/** Test support for deploy/ and vagrant/: their scripts run against a directory the test made, never the machine. */

export const DEPLOY_DIR = __dirname;
export const INSTALL_SH = join(__dirname, 'install.sh');

export interface ScriptRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runScript(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): ScriptRun {
  const run = spawnSync('bash', [script, ...args], { encoding: 'utf8', env });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `trellis-${name}-`));
}

/**
 * A stand-in for the release artifact (`npm run release`'s single JS file) with its .sha256
 * beside it: it prints `label` and its arguments, and appends them to $TRELLIS_STANDIN_LOG, so a
 * test sees what install.sh ran through the installed copy. Exits 1 when $TRELLIS_STANDIN_FAIL is set.
 */
export function standInArtifact(dir: string, label: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'trellis');
  writeFileSync(
    path,
    [
      '#!/usr/bin/env node',
      `const line = ${JSON.stringify(label)} + ' ' + process.argv.slice(2).join(' ');`,
      "if (process.env.TRELLIS_STANDIN_LOG) require('node:fs').appendFileSync(process.env.TRELLIS_STANDIN_LOG, line + '\\n');",
      'console.log(line);',
      'process.exitCode = process.env.TRELLIS_STANDIN_FAIL ? 1 : 0;',
      '',
    ].join('\n'),
  );
  chmodSync(path, 0o755);
  writeSha256(path);
  return path;
}

export function writeSha256(path: string): void {
  const digest = createHash('sha256').update(readFileSync(path)).digest('hex');
  writeFileSync(`${path}.sha256`, `${digest}  trellis\n`);
}

/** Every path under root with its type, mode and (for files) content digest, sorted: two equal listings are the same tree. */
export function listTree(root: string): string[] {
  const entries: string[] = [];
  const visit = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const stat = lstatSync(path);
      const mode = (stat.mode & 0o7777).toString(8).padStart(4, '0');
      const content = stat.isFile() ? createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 16) : stat.isDirectory() ? 'dir' : 'other';
      entries.push(`${relative(root, path)} ${mode} ${content}`);
      if (stat.isDirectory()) visit(path);
    }
  };
  visit(root);
  return entries;
}
