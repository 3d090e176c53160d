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

export const processRunner: CommandRunner = {
  run(argv, stdin) {
    const [command, ...args] = argv;
    if (command === undefined) return Promise.reject(new Error('empty command'));
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
