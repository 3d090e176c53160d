import type { Logger } from 'pino';
import { processRunner, type CommandRunner } from './kernel';

/**
 * Test hook: with TRELLIS_TEST_CRASH_AFTER_BATCHES=N in its environment, the agent kills itself
 * with SIGKILL right after its Nth kernel write batch, i.e. in the middle of applying a plan, so
 * that a test can show the next agent converges from whatever was left. Never set in production.
 */
export const CRASH_AFTER_BATCHES_ENV = 'TRELLIS_TEST_CRASH_AFTER_BATCHES';

/** A runner that counts batch invocations (`ip|bridge ... -batch -`, failed or not) and calls crash() after the Nth. */
export function crashAfterBatches(inner: CommandRunner, batches: number, crash: () => void): CommandRunner {
  let applied = 0;
  return {
    async run(argv, stdin) {
      try {
        return await inner.run(argv, stdin);
      } finally {
        if (argv.includes('-batch')) {
          applied += 1;
          if (applied === batches) crash();
        }
      }
    },
  };
}

/** The runner the agent's kernel uses: the plain one unless the hook is set in `env`. */
export function kernelRunner(env: NodeJS.ProcessEnv, logger: Logger): CommandRunner {
  const value = env[CRASH_AFTER_BATCHES_ENV];
  if (value === undefined || value === '') return processRunner;
  const batches = Number(value);
  if (!Number.isInteger(batches) || batches < 1) throw new Error(`${CRASH_AFTER_BATCHES_ENV}: "${value}" is not a whole number ≥ 1`);
  logger.warn({ batches }, `test hook ${CRASH_AFTER_BATCHES_ENV}: this agent kills itself after its kernel write batch number ${batches}`);
  return crashAfterBatches(processRunner, batches, () => {
    // Straight to stderr (synchronous for a file or pipe): nothing after this line runs.
    process.stderr.write(`test hook ${CRASH_AFTER_BATCHES_ENV}: SIGKILL after ${batches} kernel write batches\n`);
    process.kill(process.pid, 'SIGKILL');
  });
}
