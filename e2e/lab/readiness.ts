/** When is a freshly started lab usable: the manager answers and lists every agent as ready. */
import { setTimeout as sleep } from 'node:timers/promises';

const READY = 'NODE_STATUS_READY';
const POLL_MS = 500;

/**
 * Agents of `agentNames` that the manager's `node ls --format json` answer does not show as
 * ready. Throws when the answer is not a list of nodes, so a changed CLI format is not mistaken
 * for agents that are slow.
 */
export function agentsNotReady(nodeListJson: string, agentNames: readonly string[]): string[] {
  const nodes: unknown = JSON.parse(nodeListJson);
  if (!Array.isArray(nodes)) throw new Error(`node ls did not print a JSON array: ${nodeListJson.slice(0, 200)}`);
  const ready = new Set(
    nodes.filter(isRecord).filter((n) => n.status === READY && typeof n.name === 'string').map((n) => n.name),
  );
  return agentNames.filter((name) => !ready.has(name));
}

export interface ReadinessWait {
  agentNames: readonly string[];
  timeoutMs: number;
  /** runs `trellis node ls --format json` against the manager and returns its stdout */
  listNodes: () => Promise<string>;
  /** a reason to stop waiting at once (a daemon died), or undefined */
  fatalProblem: () => string | undefined;
}

export async function waitForAgentsReady(wait: ReadinessWait): Promise<void> {
  const deadline = Date.now() + wait.timeoutMs;
  let lastSeen = 'the manager has not answered yet';
  for (;;) {
    const problem = wait.fatalProblem();
    if (problem) throw new Error(problem);
    try {
      const missing = agentsNotReady(await wait.listNodes(), wait.agentNames);
      if (missing.length === 0) return;
      lastSeen = `not ready: ${missing.join(', ')}`;
    } catch (error) {
      lastSeen = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) {
      throw new Error(`agents not ready after ${Math.round(wait.timeoutMs / 1000)} s (${lastSeen})`);
    }
    await sleep(POLL_MS);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
