import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

/**
 * How long an attach may take before the bench gives up: minutes, not seconds, because on a busy
 * node an attach can wait behind whole reconcile passes, and that wait is what the bench measures.
 */
const PROBE_BOUND_MS = 180_000;

/**
 * Milliseconds until the first echo reply, probing every 2 ms.
 * ping gives up at its first error (e.g. "host unreachable" when an ARP attempt
 * ran before the address was programmed), so it is started again until a reply comes.
 */
export async function timeFirstReply(namespace: string, target: string): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < PROBE_BOUND_MS) {
    if (await pingUntilReply(namespace, target)) return performance.now() - start;
  }
  throw new Error(`no reply from ${target} within ${PROBE_BOUND_MS / 1000} s`);
}

/** One ping run: true at its first reply (then stopped), false if it exits without one. */
function pingUntilReply(namespace: string, target: string): Promise<boolean> {
  const probe = spawn('ip', ['netns', 'exec', namespace, 'ping', '-n', '-i', '0.002', '-w', '5', target], { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve) => {
    let output = '';
    probe.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!/bytes from/.test(output)) return;
      resolve(true);
      probe.kill();
    });
    probe.on('close', () => resolve(false));
  });
}
