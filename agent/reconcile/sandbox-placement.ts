import { NodeView, SandboxView } from '../../proto/gen/trellis/v1/dispatcher';
import { AdoptedNetnsQuery, NetnsOrigin, SANDBOX_NETNS_PREFIX, isSandboxNetnsName } from '../kernel';
import { netnsOwner } from '../../proto/runtime/reserved';
import { isPlainName } from './validate';

/*
 * Which namespace a sandbox of the view lives in, and who made it. The store accepts only the
 * two adoptable path shapes; they are checked again here because whatever survives becomes part
 * of a command line.
 */

const NAMED_PATH = /^\/run\/netns\/([^/]+)$/;
const PROCESS_PATH = /^\/proc\/([1-9][0-9]{0,6})\/ns\/net$/;
/** The kernel's PID_MAX_LIMIT. */
const MAX_PID = 4_194_304;

export type SandboxPlacement = { netns: string; origin: NetnsOrigin } | { problem: string };

/** Pure. */
export function placeSandbox(sandbox: SandboxView): SandboxPlacement {
  const path = sandbox.netnsPath;
  if (path === '') return ownName(sandbox, { kind: 'created' });
  const named = NAMED_PATH.exec(path)?.[1];
  if (named !== undefined) {
    // A name of ours (or the lab's) here would let the leftover cleanup, another sandbox or the
    // network it belongs to fight over what was adopted, deleting and re-adding it every pass.
    const owned = netnsOwner(named);
    if (owned !== undefined) {
      return { problem: `netns path "${path}" is ${owned.owner} (${owned.prefix}…), which is never adopted` };
    }
    if (!isPlainName(named) || named.startsWith('-')) {
      return { problem: `netns path "${path}" must name a plain namespace` };
    }
    return { netns: named, origin: { kind: 'named' } };
  }
  const pid = Number(PROCESS_PATH.exec(path)?.[1]);
  if (pid > 0 && pid <= MAX_PID) return ownName(sandbox, { kind: 'attached', pid });
  return { problem: `netns path "${path}" is neither /run/netns/NAME nor /proc/PID/ns/net` };
}

/** The agent's own name: the namespace it creates, or the name it attaches a process's namespace as. */
function ownName(sandbox: SandboxView, origin: NetnsOrigin): SandboxPlacement {
  if (!isSandboxNetnsName(sandbox.netnsName) || !isPlainName(sandbox.netnsName)) {
    return { problem: `netns name "${sandbox.netnsName}" must be a plain name starting with ${SANDBOX_NETNS_PREFIX}` };
  }
  return { netns: sandbox.netnsName, origin };
}

/** The adopted namespaces a pass must look at, for Kernel.observe(). Pure. */
export function adoptedNetnsQuery(view: NodeView): AdoptedNetnsQuery {
  const query = { foreign: [] as string[], attached: [] as string[], pids: [] as number[] };
  for (const sandbox of view.sandboxes) {
    const placement = placeSandbox(sandbox);
    if ('problem' in placement) continue;
    if (placement.origin.kind === 'named') query.foreign.push(placement.netns);
    if (placement.origin.kind === 'attached') {
      query.attached.push(placement.netns);
      query.pids.push(placement.origin.pid);
    }
  }
  return query;
}
