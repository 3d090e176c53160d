import { constants } from 'node:os';

/** Undo steps, run last-in first-out, each once, even when an earlier one fails. */
export class Teardown {
  private readonly steps: { what: string; step: () => Promise<unknown> }[] = [];
  private running: Promise<void> | undefined;

  add(what: string, step: () => Promise<unknown>): void {
    this.steps.push({ what, step });
  }

  /** A second call while one is running (a signal during the normal teardown) joins it. */
  run(): Promise<void> {
    this.running ??= this.drain().finally(() => (this.running = undefined));
    return this.running;
  }

  private async drain(): Promise<void> {
    for (let next = this.steps.pop(); next !== undefined; next = this.steps.pop()) {
      try {
        await next.step();
      } catch (error) {
        process.stderr.write(`bench: cleanup: ${next.what} failed: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    }
  }
}

/** Runs `body`, then its teardown: after success, after a failure, and on SIGINT/SIGTERM (then exits). */
export async function withTeardown<T>(body: (teardown: Teardown) => Promise<T>): Promise<T> {
  const teardown = new Teardown();
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`bench: ${signal}: cleaning up\n`);
    void teardown.run().finally(() => process.exit(128 + constants.signals[signal]));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await body(teardown);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await teardown.run();
  }
}
