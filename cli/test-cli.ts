import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** The built CLI (`npx tsc -p tsconfig.json` or scripts/setup.sh builds it), as a user runs it. */
const cli = join(__dirname, '..', 'dist', 'cli', 'main.js');

export interface Answer {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * For tests: `trellis …` against one manager, as a user types it; `ok` fails the test unless it
 * succeeds. `target` is read at each call (tests start their manager after defining this).
 */
export function cliAgainst(target: () => { manager: string; tlsDir: string }): { trellis: (...args: string[]) => Promise<Answer>; ok: (...args: string[]) => Promise<string> } {
  async function trellis(...args: string[]): Promise<Answer> {
    try {
      const { manager, tlsDir } = target();
      const { stdout, stderr } = await run(process.execPath, [cli, '--manager', manager, '--tls-dir', tlsDir, ...args]);
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }
  async function ok(...args: string[]): Promise<string> {
    const answer = await trellis(...args);
    if (answer.code !== 0) throw new Error(`trellis ${args.join(' ')} failed: ${answer.stderr}`);
    return answer.stdout;
  }
  return { trellis, ok };
}
