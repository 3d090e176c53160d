import { performance } from 'node:perf_hooks';
import { processRunner, type CommandRunner } from '../../agent/kernel';
import type { ReconcileResult, Reconciler } from '../../agent/reconcile';
import { benchReconciler, type BenchHost } from '../netns/hosts';

/** How one pass used the kernel, seen from the commands it ran. */
export interface PassProfile {
  ms: number;
  /** From the start until the last read (a command that writes nothing) came back. */
  readingMs: number;
  commands: number;
  writes: number;
}

/**
 * The agent's own runner, counting the commands a pass runs and noting when the last read
 * returned: what is left of a pass after that is planning and writing.
 */
export class CountingRunner implements CommandRunner {
  private readonly start = performance.now();
  private commands = 0;
  private lastReadAt = this.start;

  async run(argv: readonly string[], stdin?: string): Promise<string> {
    this.commands++;
    try {
      return await processRunner.run(argv, stdin);
    } finally {
      if (!isWrite(argv)) this.lastReadAt = performance.now();
    }
  }

  profile(writes: number): PassProfile {
    return { ms: performance.now() - this.start, readingMs: this.lastReadAt - this.start, commands: this.commands, writes };
  }
}

/** How IprouteKernel writes: ip and bridge batches, nft scripts, sysctl -w. */
function isWrite(argv: readonly string[]): boolean {
  return argv.includes('-batch') || (argv.includes('nft') && argv.includes('-f')) || (argv.includes('sysctl') && argv.includes('-w'));
}

/** One call on a fresh Reconciler (as after a restart) for `host`, profiled from its construction on. */
export async function profiled(
  host: BenchHost,
  owner: string,
  call: (reconciler: Reconciler) => Promise<ReconcileResult>,
): Promise<{ profile: PassProfile; result: ReconcileResult }> {
  const runner = new CountingRunner();
  const result = await call(benchReconciler(host, owner, runner));
  return { profile: runner.profile(result.writes), result };
}
