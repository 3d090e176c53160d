import { isDeepStrictEqual } from 'node:util';
import type { DesiredEndpoint, DesiredKernel, NamespaceSelection, ObservedKernel, ScopedRead } from '../kernel';

/*
 * Scoped passes: a change costs the change, not the node.
 *
 * A scoped pass runs the same plan() as a full pass, over the part of the desired and observed
 * kernel that a change touches. Why it leaves the kernel exactly as a full pass would:
 *
 * 1. Its desired state is the full desired state (computed from the whole view, so every decision
 *    that weighs one object against the others, such as which of two endpoints claiming one IP is
 *    skipped, egress addresses and published host ports, is taken as a full pass takes it),
 *    restricted to the scope's namespaces; the host's global objects (gateway bridge, bridge
 *    networks' bridges, firewall, ip_forward) are always in it whole.
 * 2. Its scope is closed under what plan() looks at together: a sandbox in scope brings in the
 *    network namespace of each of its endpoints (plan pairs a veth's two ends), and any adopted
 *    sandbox brings in every adopted one (plan refuses two sandboxes adopting one namespace).
 * 3. Its observation is read fresh for exactly the scope's namespaces plus the host's global
 *    objects; links that belong to objects outside the scope (the host ends of other sandboxes'
 *    veths, in the host and in the scope's network namespaces) are hidden from plan(), so it
 *    neither deletes nor touches them.
 * 4. What falls outside the scope is unchanged: the scope is every namespace whose desired state
 *    differs from what the last successful pass made the kernel match, and a pass whose desired
 *    state moves outside its scope once the scope has been read (an egress address handed to a
 *    sandbox the scope does not hold, say) is run as a full pass instead (see Reconciler).
 *
 * The one difference is in how, not in what: a stale veth whose other end is outside the scope is
 * deleted on its own rather than taken along with its namespace. Drift outside the scope is left to
 * the full pass, which keeps running on the timer.
 */

export type PassScope = NamespaceSelection;

/** The namespaces whose desired state differs between `before` and `after`, closed as point 2 above says. Pure. */
export function changedScope(before: DesiredKernel, after: DesiredKernel): PassScope {
  const sandboxes = new Set<string>();
  const networks = new Set<string>();
  for (const netns of changedKeys(before.networks, after.networks, (network) => network.netns)) networks.add(netns);
  for (const netns of changedKeys(before.sandboxes, after.sandboxes, (sandbox) => sandbox.netns)) sandboxes.add(netns);
  const endpoints = [...before.endpoints, ...after.endpoints];
  for (const hostName of changedKeys(before.endpoints, after.endpoints, (endpoint) => endpoint.hostName)) {
    for (const endpoint of endpoints.filter((candidate) => candidate.hostName === hostName)) {
      sandboxes.add(endpoint.netns);
      if (endpoint.networkNetns !== undefined) networks.add(endpoint.networkNetns);
    }
  }
  for (const hostName of changedKeys(before.lanEndpoints, after.lanEndpoints, (endpoint) => endpoint.hostName)) {
    for (const endpoint of [...before.lanEndpoints, ...after.lanEndpoints]) if (endpoint.hostName === hostName) sandboxes.add(endpoint.netns);
  }
  if (sandboxes.size > 0) {
    for (const sandbox of [...before.sandboxes, ...after.sandboxes]) {
      if (sandbox.origin.kind !== 'created') sandboxes.add(sandbox.netns);
    }
  }
  for (const endpoint of endpoints) if (sandboxes.has(endpoint.netns) && endpoint.networkNetns !== undefined) networks.add(endpoint.networkNetns);
  return { sandboxes, networks };
}

/** Whether the host's global objects (gateway bridge, bridge networks' bridges, firewall, VLAN parents) are wanted alike in both. Pure. */
export function sameGlobals(before: DesiredKernel, after: DesiredKernel): boolean {
  return isDeepStrictEqual(before.gateway, after.gateway) && isDeepStrictEqual(before.localBridges, after.localBridges)
    && isDeepStrictEqual(before.firewall, after.firewall) && isDeepStrictEqual(before.vlans, after.vlans);
}

export function isEmptyScope(scope: PassScope): boolean {
  return scope.sandboxes.size === 0 && scope.networks.size === 0;
}

export function isWithin(inner: PassScope, outer: PassScope): boolean {
  const within = (items: ReadonlySet<string>, of: ReadonlySet<string>) => [...items].every((item) => of.has(item));
  return within(inner.sandboxes, outer.sandboxes) && within(inner.networks, outer.networks);
}

export function unionOf(reads: readonly ScopedRead[]): ScopedRead {
  return {
    sandboxes: new Set(reads.flatMap((read) => [...read.sandboxes])),
    networks: new Set(reads.flatMap((read) => [...read.networks])),
    hostLinks: new Set(reads.flatMap((read) => [...read.hostLinks])),
  };
}

/** The desired kernel of the scope's namespaces; the host's global objects whole (point 1). Pure. */
export function desiredWithin(desired: DesiredKernel, scope: PassScope): DesiredKernel {
  return {
    ...desired,
    networks: desired.networks.filter((network) => scope.networks.has(network.netns)),
    sandboxes: desired.sandboxes.filter((sandbox) => scope.sandboxes.has(sandbox.netns)),
    endpoints: desired.endpoints.filter((endpoint) => scope.sandboxes.has(endpoint.netns)),
    lanEndpoints: desired.lanEndpoints.filter((endpoint) => scope.sandboxes.has(endpoint.netns)),
  };
}

/**
 * What plan() may see of an observation of (at least) the scope's namespaces: those namespaces,
 * and the host's links, without the links of sandboxes outside the scope that `desired` (the
 * full desired kernel) still wants (point 3). Pure.
 */
export function observedWithin(observed: ObservedKernel, desired: DesiredKernel, scope: PassScope): ObservedKernel {
  const outside = new Set([
    ...desired.sandboxes.filter((sandbox) => !scope.sandboxes.has(sandbox.netns)).flatMap((sandbox) => sandbox.egress?.hostName ?? []),
    ...desired.endpoints.filter((endpoint: DesiredEndpoint) => !scope.sandboxes.has(endpoint.netns)).map((endpoint) => endpoint.hostName),
  ]);
  const visible = <T extends { name: string }>(links: readonly T[]) => links.filter((link) => !outside.has(link.name));
  return {
    ...observed,
    hostLinks: visible(observed.hostLinks),
    networks: observed.networks
      .filter((network) => scope.networks.has(network.netns))
      .map((network) => ({ ...network, links: visible(network.links) })),
    brokenNetworks: observed.brokenNetworks.filter((netns) => scope.networks.has(netns)),
    sandboxes: observed.sandboxes.filter((sandbox) => scope.sandboxes.has(sandbox.netns)),
    brokenSandboxes: observed.brokenSandboxes.filter((netns) => scope.sandboxes.has(netns)),
  };
}

/**
 * A whole observation from an older one whose `reread` namespaces and host links were read again
 * since (along with the host's global objects): how a full pass takes in what scoped passes
 * changed while it read the rest. Pure.
 */
export function refreshed(older: ObservedKernel, newer: ObservedKernel, reread: ScopedRead): ObservedKernel {
  const keepSandbox = (netns: string) => !reread.sandboxes.has(netns);
  const keepNetwork = (netns: string) => !reread.networks.has(netns);
  return {
    ...newer,
    hostLinks: [...older.hostLinks.filter((link) => !reread.hostLinks.has(link.name)), ...newer.hostLinks],
    networks: [...older.networks.filter((network) => keepNetwork(network.netns)), ...newer.networks],
    brokenNetworks: [...older.brokenNetworks.filter(keepNetwork), ...newer.brokenNetworks],
    sandboxes: [...older.sandboxes.filter((sandbox) => keepSandbox(sandbox.netns)), ...newer.sandboxes],
    brokenSandboxes: [...older.brokenSandboxes.filter(keepSandbox), ...newer.brokenSandboxes],
    netnsIds: { ...older.netnsIds, ...newer.netnsIds },
    agentNetnsIds: [...new Set([...older.agentNetnsIds, ...newer.agentNetnsIds])],
  };
}

/** Keys of items added, removed or changed between the two lists. */
function changedKeys<T>(before: readonly T[], after: readonly T[], keyOf: (item: T) => string): Set<string> {
  const earlier = new Map(before.map((item) => [keyOf(item), item]));
  const changed = new Set<string>();
  for (const item of after) {
    const key = keyOf(item);
    if (!isDeepStrictEqual(earlier.get(key), item)) changed.add(key);
    earlier.delete(key);
  }
  for (const key of earlier.keys()) changed.add(key);
  return changed;
}
