import { execFile } from 'node:child_process';

export interface RunOptions {
  timeoutMs?: number;
}

/** Runs argv to completion and returns its stdout; a failure carries the command and its stderr. */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<string> {
  const [file, ...args] = argv;
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: options.timeoutMs ?? 10_000 }, (error, stdout, stderr) => {
      if (error) {
        const detail = stderr.trim() || error.message;
        reject(new Error(`\`${argv.join(' ')}\` failed: ${detail}`));
      } else {
        resolve(stdout);
      }
    });
  });
}
