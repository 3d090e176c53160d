/** When is a freshly started lab usable: every manager votes, and the managers list every agent as ready. */
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

/** How many of the cluster's managers are voting members, from `manager ls --format json`; short of `expected`, a reason. */
export function managersNotVoting(managerListJson: string, expected: number): string | undefined {
  const answer: unknown = JSON.parse(managerListJson);
  if (!isRecord(answer) || !Array.isArray(answer.managers)) throw new Error(`manager ls did not print its JSON object: ${managerListJson.slice(0, 200)}`);
  const voters = answer.managers.filter(isRecord).filter((m) => m.role === 'voter').length;
  return voters >= expected ? undefined : `${voters} of ${expected} managers vote`;
}

export interface ReadinessWait {
  agentNames: readonly string[];
  managerCount: number;
  timeoutMs: number;
  /** runs `trellis node ls --format json` against the managers and returns its stdout */
  listNodes: () => Promise<string>;
  /** runs `trellis manager ls --format json` against the managers and returns its stdout */
  listManagers: () => Promise<string>;
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
      const managersShort = managersNotVoting(await wait.listManagers(), wait.managerCount);
      const missing = agentsNotReady(await wait.listNodes(), wait.agentNames);
      if (missing.length === 0 && managersShort === undefined) return;
      lastSeen = managersShort ?? `not ready: ${missing.join(', ')}`;
    } catch (error) {
      lastSeen = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) {
      throw new Error(`lab not ready after ${Math.round(wait.timeoutMs / 1000)} s (${lastSeen})`);
    }
    await sleep(POLL_MS);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
