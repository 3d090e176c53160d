import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn } from 'node:child_process';

/** Runs one external command; the only way kernel code reaches the kernel. */
export interface CommandRunner {
  /** Resolves with stdout; rejects with CommandFailed on a non-zero exit. */
  run(argv: readonly string[], stdin?: string): Promise<string>;
}

export class CommandFailed extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${argv.join(' ')} exited with ${exitCode ?? 'a signal'}: ${stderr.trim()}`);
    this.name = 'CommandFailed';
  }
}

const tally = new AsyncLocalStorage<{ processes: number }>();

/**
 * Runs `work`, counting the processes processRunner spawns for it: only for it, though other work
 * spawns meanwhile (the count follows `work`'s own async calls).
 */
export async function countingProcesses<T>(work: () => Promise<T>): Promise<{ result: T; processes: number }> {
  const count = { processes: 0 };
  const result = await tally.run(count, work);
  return { result, processes: count.processes };
}

export const processRunner: CommandRunner = {
  run(argv, stdin) {
    const [command, ...args] = argv;
    if (command === undefined) return Promise.reject(new Error('empty command'));
    const count = tally.getStore();
    if (count !== undefined) count.processes += 1;
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) resolve(Buffer.concat(stdout).toString('utf8'));
        else reject(new CommandFailed(argv, code, Buffer.concat(stderr).toString('utf8')));
      });
      // A command that exits without reading stdin (EPIPE) reports any failure through its exit code.
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdin ?? '');
    });
  },
};
