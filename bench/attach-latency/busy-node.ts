import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { listNamespaces } from '../../e2e/lab/namespaces';
import { mustSucceed, onHostInBackground } from '../../e2e/support/lab-driver';

/** A thousand namespaces made by an agent whose every pass reads every namespace: minutes, on a loaded machine. */
const KERNEL_BOUND_MS = 30 * 60_000;
const POLL_MS = 250;
const PROGRESS_EVERY_MS = 15_000;

/**
 * Creates sandboxes PREFIX<FROM>..PREFIX<TO-1> on `node` through the Control API from one process
 * inside the manager's host (fill-node.ts), then waits until the node's agent has made every one
 * of their namespaces, read from the kernel. Resolves to the namespace names.
 */
export async function fillNode(node: string, prefix: string, from: number, to: number, progress: (line: string) => void): Promise<string[]> {
  const started = performance.now();
  const script = join(__dirname, 'fill-node.js');
  const created = mustSucceed('fill-node', await onHostInBackground('m1', [process.execPath, script, node, prefix, String(from), String(to)]));
  const namespaces = JSON.parse(created.stdout) as string[];
  progress(`created ${namespaces.length} sandboxes on ${node} through the API in ${seconds(started)} s; waiting for its agent's namespaces`);
  await waitForNamespaces(namespaces, true, (made) => progress(`${node}'s agent has made ${made} of ${namespaces.length} namespaces (${seconds(started)} s)`));
  progress(`${node}'s agent made all ${namespaces.length} namespaces in ${seconds(started)} s`);
  return namespaces;
}

/** Waits until every one of `names` is (present) or none is (!present) in `ip netns list`. */
export async function waitForNamespaces(names: readonly string[], present: boolean, progress: (matching: number) => void = () => undefined): Promise<void> {
  const started = performance.now();
  let reported = started;
  for (;;) {
    const listed = new Set(await listNamespaces());
    const matching = names.filter((name) => listed.has(name) === present).length;
    if (matching === names.length) return;
    if (performance.now() - started > KERNEL_BOUND_MS) {
      throw new Error(`after ${seconds(started)} s, ${names.length - matching} of ${names.length} namespaces are still ${present ? 'missing' : 'there'}`);
    }
    if (performance.now() - reported > PROGRESS_EVERY_MS) {
      reported = performance.now();
      progress(matching);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function seconds(since: number): string {
  return ((performance.now() - since) / 1000).toFixed(1);
}
