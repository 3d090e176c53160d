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
  if (sandbox.networkMode === 'host') {
    return path === '' ? ownName(sandbox, { kind: 'host' }) : { problem: `netns path "${path}" cannot be adopted by a sandbox in network mode "host"` };
  }
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

/** The agent's own name: the namespace it creates, or the name it attaches a process's (or the host's) namespace as. */
function ownName(sandbox: SandboxView, origin: NetnsOrigin): SandboxPlacement {
  if (!isSandboxNetnsName(sandbox.netnsName) || !isPlainName(sandbox.netnsName)) {
    return { problem: `netns name "${sandbox.netnsName}" must be a plain name starting with ${SANDBOX_NETNS_PREFIX}` };
  }
  return { netns: sandbox.netnsName, origin };
}

/** A namespace of the view's sandboxes, and every sandbox in it. */
export interface PlacedNamespace {
  netns: string;
  origin: NetnsOrigin;
  /** The view's name for it (SandboxView.netns_name), which the resolver knows its askers by. */
  netnsName: string;
  /** SandboxView.network_mode of the sandbox that decides it: '' | "none" | "host". */
  mode: string;
  /** Its sandboxes, sorted by id: several only when they share it (Docker's --network container:X). */
  sandboxIds: string[];
}

export interface NamespacePlan {
  /** By the name under /run/netns. */
  namespaces: Map<string, PlacedNamespace>;
  bySandbox: Map<string, PlacedNamespace>;
  /** Sandboxes placed nowhere, and why. */
  problems: { sandboxId: string; problem: string }[];
}

/**
 * Every sandbox's namespace. Sandboxes that share one (all shares_netns) are placed by the one that
 * says how it is made (a network mode or an adopted path; else the first in the view); the others
 * join it when they say the same or nothing. Any other second claim on a namespace is refused: two
 * sandboxes there would fight over its interfaces and default route. Pure.
 */
export function placeSandboxes(sandboxes: readonly SandboxView[]): NamespacePlan {
  const plan: NamespacePlan = { namespaces: new Map(), bySandbox: new Map(), problems: [] };
  const groups = new Map<string, { sandbox: SandboxView; placement: { netns: string; origin: NetnsOrigin } }[]>();
  for (const sandbox of sandboxes) {
    const placement = placeSandbox(sandbox);
    if ('problem' in placement) {
      plan.problems.push({ sandboxId: sandbox.id, problem: placement.problem });
      continue;
    }
    // Sharers are grouped by the view's name: a plain one sharing a host or adopted namespace places elsewhere alone.
    const key = sandbox.sharesNetns ? `shared ${sandbox.netnsName}` : placement.netns;
    groups.set(key, [...(groups.get(key) ?? []), { sandbox, placement }]);
  }
  for (const group of groups.values()) {
    const decider = group.find(({ sandbox }) => !isPlain(sandbox)) ?? group[0];
    if (decider === undefined) continue;
    const { netns, origin } = decider.placement;
    const claimed = plan.namespaces.get(netns);
    const members = group.filter(({ sandbox }) => claimed === undefined && joins(decider.sandbox, sandbox));
    for (const { sandbox } of group) {
      if (!members.some((member) => member.sandbox === sandbox)) {
        plan.problems.push({ sandboxId: sandbox.id, problem: `namespace ${netns} already belongs to another sandbox` });
      }
    }
    if (members.length === 0) continue;
    const placed: PlacedNamespace = {
      netns, origin, netnsName: decider.sandbox.netnsName, mode: decider.sandbox.networkMode,
      sandboxIds: members.map(({ sandbox }) => sandbox.id).sort(),
    };
    plan.namespaces.set(netns, placed);
    for (const { sandbox } of members) plan.bySandbox.set(sandbox.id, placed);
  }
  return plan;
}

function isPlain(sandbox: SandboxView): boolean {
  return sandbox.networkMode === '' && sandbox.netnsPath === '';
}

function joins(decider: SandboxView, sandbox: SandboxView): boolean {
  if (sandbox === decider) return true;
  return decider.sharesNetns && sandbox.sharesNetns
    && (isPlain(sandbox) || (sandbox.networkMode === decider.networkMode && sandbox.netnsPath === decider.netnsPath));
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
