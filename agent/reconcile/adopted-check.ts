import {
  DesiredKernel,
  DesiredSandbox,
  ObservedKernel,
  ObservedLink,
  isOwnedLinkName,
  netnsRunPath,
  processNetnsPath,
} from '../kernel';
import type { DesiredResult } from './desired';
import { isOurLanDevice } from './plan-lan';
import { isVethPeer } from './plan-links';
import { isHostNamespace, ownerTagOf } from './plan-sandbox';

/*
 * Adopted namespaces come and go with whoever made them, so whether one can be programmed is known
 * only from what a pass observed. This drops, saying why, what cannot be, so that plan() only sees
 * adopted namespaces that exist, are not the agent's own, are adopted once, and hold nobody else's
 * interface on a name an endpoint needs. Everything dropped is retried on the next pass.
 */

interface Verdict {
  /** Whether the sandbox stays wanted; if not, the leftover cleanup removes what of it is the agent's. */
  keep: boolean;
  /** Whether its endpoints are programmed. */
  program: boolean;
  reason?: string;
  /** The namespace's identity, to catch two sandboxes adopting one namespace by different paths. */
  identity?: string;
}

const PROGRAM: Verdict = { keep: true, program: true };

function drop(reason: string): Verdict {
  return { keep: false, program: false, reason };
}

/** Pure. */
export function checkAdoptedNamespaces(kernel: DesiredKernel, observed: ObservedKernel): DesiredResult {
  const skipped: string[] = [];
  const present = new Set(observed.sandboxes.map((sandbox) => sandbox.netns));
  const claimedBy = new Map<string, string>();
  const sandboxes: DesiredSandbox[] = [];
  const programmed = new Set<string>();
  for (const sandbox of kernel.sandboxes) {
    let verdict = verdictOn(kernel.ownerTag, sandbox, observed, present);
    const sharer = verdict.identity === undefined ? undefined : claimedBy.get(verdict.identity);
    if (sharer !== undefined) verdict = drop(`is the namespace already adopted as ${sharer}`);
    else if (verdict.identity !== undefined) claimedBy.set(verdict.identity, describe(sandbox));
    if (verdict.reason !== undefined) skipped.push(`sandbox namespace ${describe(sandbox)}: ${verdict.reason}`);
    if (verdict.program) programmed.add(sandbox.netns);
    if (verdict.keep) sandboxes.push(sandbox);
  }

  const taken = takenInterfaceNames(kernel, observed);
  const programmable = (endpoint: { hostName: string; netns: string; interfaceName: string }) => {
    if (!programmed.has(endpoint.netns)) return false;
    if (!taken.has(interfaceKey(endpoint))) return true;
    skipped.push(
      `endpoint ${endpoint.hostName}: ${endpoint.interfaceName} in adopted namespace ${endpoint.netns} is an interface Trellis does not own`,
    );
    return false;
  };
  const endpoints = kernel.endpoints.filter(programmable);
  const lanEndpoints = kernel.lanEndpoints.filter(programmable);
  // A bridge or LAN endpoint's interface may carry its sandbox's default route: none through one that is dropped.
  const dropped = new Set([
    ...kernel.endpoints.filter((endpoint) => !endpoints.includes(endpoint)),
    ...kernel.lanEndpoints.filter((endpoint) => !lanEndpoints.includes(endpoint)),
  ].map(interfaceKey));
  const routed = sandboxes.map((sandbox) => {
    const device = sandbox.defaultRoute?.device;
    return device !== undefined && dropped.has(interfaceKey({ netns: sandbox.netns, interfaceName: device })) ? { ...sandbox, defaultRoute: undefined } : sandbox;
  });
  return { kernel: { ...kernel, sandboxes: routed, endpoints, lanEndpoints }, skipped };
}

function verdictOn(ownerTag: string, sandbox: DesiredSandbox, observed: ObservedKernel, present: ReadonlySet<string>): Verdict {
  const { origin, netns } = sandbox;
  if (origin.kind === 'created') return PROGRAM;
  if (origin.kind === 'host') {
    // Attached by this pass when missing; a namespace of ours under the name is replaced (plan's staleSandboxes).
    const current = observed.sandboxes.find((candidate) => candidate.netns === netns);
    if (current === undefined || isHostNamespace(current, observed.hostLinks) || ownerTagOf(current)?.owner === ownerTag) return PROGRAM;
    return drop(`the name is held by a namespace that is neither the host's nor the agent's; remove ${netnsRunPath(netns)}`);
  }
  // Fail closed: without knowing its own namespace the agent could adopt it and write into the host.
  if (observed.agentNetnsIds.length === 0) return drop("the agent's own namespace could not be identified");
  if (origin.kind === 'named') {
    if (observed.brokenSandboxes.includes(netns)) return drop('exists but cannot be entered');
    if (!present.has(netns)) return drop('does not exist (yet)');
    const identity = observed.netnsIds[netnsRunPath(netns)];
    if (identity === undefined) return drop('vanished while being read');
    if (observed.agentNetnsIds.includes(identity)) return drop(`is the agent's own namespace, which is never adopted`);
    return { ...PROGRAM, identity };
  }
  const identity = observed.netnsIds[processNetnsPath(origin.pid)];
  const attached = present.has(netns) ? observed.netnsIds[netnsRunPath(netns)] : undefined;
  if (attached !== undefined && attached !== identity) {
    // Attaching again could adopt whichever process gets the PID next: the old mount (holding an
    // empty namespace once the endpoints are gone) stays as the reminder until the sandbox is removed.
    return {
      keep: true,
      program: false,
      reason: `process ${origin.pid} no longer holds the namespace attached as ${netns} (it exited, or its PID was reused); its endpoints are withdrawn; remove the sandbox`,
    };
  }
  if (identity === undefined) return drop(`process ${origin.pid} does not exist`);
  if (observed.agentNetnsIds.includes(identity)) {
    return drop(`process ${origin.pid} is in the agent's own namespace, which is never adopted`);
  }
  return { ...PROGRAM, identity };
}

function describe(sandbox: DesiredSandbox): string {
  const { origin, netns } = sandbox;
  if (origin.kind === 'attached') return `${processNetnsPath(origin.pid)} (attached as ${netns})`;
  return netnsRunPath(netns);
}

function interfaceKey(endpoint: { netns: string; interfaceName: string }): string {
  return `${endpoint.netns}/${endpoint.interfaceName}`;
}

/** Interface names in adopted namespaces held by links that are not the peer of one of our host ends. */
function takenInterfaceNames(kernel: DesiredKernel, observed: ObservedKernel): Set<string> {
  const adopted = new Set(kernel.sandboxes.filter((s) => s.origin.kind !== 'created').map((s) => s.netns));
  const hostEnds = new Map<string, ObservedLink>();
  for (const link of observed.hostLinks) if (isOwnedLinkName(link.name)) hostEnds.set(link.name, link);
  for (const network of observed.networks) for (const link of network.links) hostEnds.set(link.name, link);
  // The alias names the host end (ifindexes repeat across namespaces); an end a crash left untagged is matched by ifindexes alone.
  const candidates = (link: ObservedLink) => {
    const named = link.alias === undefined ? undefined : hostEnds.get(link.alias);
    return named === undefined ? [...hostEnds.values()] : [named];
  };
  const isOurs = (link: ObservedLink) =>
    isOurLanDevice(link) || (link.kind === 'veth' && candidates(link).some((hostSide) => isVethPeer(hostSide, link)));
  const taken = new Set<string>();
  for (const sandbox of observed.sandboxes) {
    if (!adopted.has(sandbox.netns)) continue;
    for (const link of sandbox.links) if (!isOurs(link)) taken.add(interfaceKey({ netns: sandbox.netns, interfaceName: link.name }));
  }
  return taken;
}
