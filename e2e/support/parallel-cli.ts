import { defaultContext, execInHost } from '../lab';

/**
 * Runs `trellis ARGS` for each entry of `calls` on a lab host, `parallel` at a time, as a user's
 * script with `xargs -P` would: one CLI process per call, started straight in the host's namespace
 * (no `lab exec` process around each). Their stderr is the test's; throws naming every call that failed.
 */
export async function trellisInParallel(host: string, calls: readonly string[][], parallel: number): Promise<void> {
  const ctx = defaultContext();
  const failed: string[] = [];
  const next = calls.values();
  const worker = async (): Promise<void> => {
    for (const args of next) {
      const code = await execInHost(ctx, host, ['trellis', ...args], ['ignore', 'ignore', 'inherit']);
      if (code !== 0) failed.push(`trellis ${args.join(' ')} (exit ${code})`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  if (failed.length > 0) throw new Error(`${failed.length} of ${calls.length} CLI calls failed:\n${failed.join('\n')}`);
}
