import {
  BRIDGE_NETFILTER_SYSCTLS,
  DesiredKernel,
  DesiredNetwork,
  DesiredSandbox,
  GATEWAY_BRIDGE,
  HOST,
  KernelAction,
  ObservedKernel,
  ObservedLink,
  ObservedNetwork,
  ObservedSandbox,
  ROOT,
  attachAction,
  inNetns,
  ipAction,
  isOwnedLinkName,
  isSandboxNetnsName,
} from '../kernel';
import { planFirewall } from './plan-firewall';
import { planFdb, planNeighbours } from './plan-forwarding';
import { lanHostChanges, lanKeeper, staleVlanDeletes } from './plan-lan';
import { addVxlan, addressFixes, addressSetFixes, ensureBridge, ensureVethPair, isPairedVeth, linkFixes, newLink, vxlanMatches } from './plan-links';
import { ATTACHED_TAG_PREFIX, OWNER_TAG_PREFIX, configureSandbox, isHostNamespace, ownerTagOf, sandboxInterfaceDeletes, sandboxInterfaces } from './plan-sandbox';

export { ATTACHED_TAG_PREFIX, OWNER_TAG_PREFIX };

/**
 * The writes that turn `observed` into `desired`, in an order the kernel accepts. Pure.
 *
 * Phases (each becomes one batch per namespace): delete links that are stale or must be recreated,
 * in the host namespace, then in network namespaces, then in sandboxes; delete and add (or attach)
 * namespaces; add or fix the host's links (gateway bridge, VXLAN devices born into their network
 * namespace, gateway veths); add or fix each network's links, neighbours and FDB; configure each
 * sandbox; the firewall last, once what it points at exists. Objects that a delete takes with it
 * (a veth's peer, a bridge's port membership, a VXLAN device's entries, a created namespace's
 * veths) are treated as gone from then on and never deleted on their own, so nothing is deleted
 * twice and nothing is assumed to survive that does not. In an adopted namespace only the agent's
 * own interfaces, addresses and routes are ever written.
 */
export function plan(desired: DesiredKernel, observed: ObservedKernel): KernelAction[] {
  const stale = staleSandboxes(desired, observed);
  // A stale namespace under a wanted name is made again after its name is deleted: never reused.
  const replaced = new Set(stale.map((sandbox) => sandbox.netns));
  const sandboxes = new Map(observed.sandboxes.filter((sandbox) => !replaced.has(sandbox.netns)).map((sandbox) => [sandbox.netns, sandbox]));
  const networks = new Map(observed.networks.map((network) => [network.netns, network]));
  const peerIn = (netns: string, interfaceName: string) => sandboxes.get(netns)?.links.find((link) => link.name === interfaceName);
  const takenAlong = takenWithNamespaces(desired, stale);

  const host = sortLinks(observed.hostLinks.filter((link) => isOwnedLinkName(link.name)), hostLinkKeeper(desired, peerIn));
  const linksOf = (netns: string) => networks.get(netns)?.links.filter((link) => link.name !== 'lo') ?? [];
  const networkLinks = new Map(
    desired.networks.map((network) => [
      network.netns,
      sortLinks(linksOf(network.netns), networkLinkKeeper(desired, network, observed.hostLinks, linksOf(network.netns), peerIn)),
    ]),
  );
  const deletedNetworks = new Set(staleNetworks(desired, observed));
  for (const netns of deletedNetworks) networkLinks.set(netns, sortLinks(linksOf(netns), () => false));
  const keptHostEnds = new Map([...host.kept, ...[...networkLinks.values()].flatMap((sorted) => [...sorted.kept])]);
  const deletedHostEnds = [...host.deleted, ...[...networkLinks.values()].flatMap((sorted) => sorted.deleted)];

  const actions: KernelAction[] = [];
  for (const link of host.deleted.filter((deleted) => !takenAlong(deleted))) actions.push(ipAction(HOST, 'link', 'del', 'dev', link.name));
  actions.push(...staleVlanDeletes(desired, observed.hostLinks));
  for (const [netns, sorted] of networkLinks) {
    const explicit = sorted.deleted.filter((link) => !takenAlong(link) && (!deletedNetworks.has(netns) || outlivesTeardown(link)));
    for (const link of explicit) actions.push(ipAction(inNetns(netns), 'link', 'del', 'dev', link.name));
  }

  const sandboxLinks = new Map<string, ObservedLink[]>();
  const keepsLan = lanKeeper(desired, observed.hostLinks);
  for (const sandbox of desired.sandboxes) {
    const current = sandboxes.get(sandbox.netns);
    if (current === undefined || sandbox.origin.kind === 'host') continue;
    const adopted = sandbox.origin.kind !== 'created';
    const keeps = (link: ObservedLink) => keepsLan(sandbox.netns, link);
    const { kept, deletes } = sandboxInterfaceDeletes(sandboxInterfaces(desired, sandbox), adopted, current, keptHostEnds, deletedHostEnds, keeps);
    sandboxLinks.set(sandbox.netns, kept);
    actions.push(...deletes);
  }

  actions.push(...namespaceChanges(desired, observed, stale, sandboxes, networks));

  const created = new Set<string>();
  actions.push(...hostLinkChanges(desired, observed, withoutDeletedMasters(host.kept, host.deleted), networkLinks, created));
  actions.push(...lanHostChanges(desired, observed.hostLinks, sandboxLinks, keepsLan, created));
  for (const network of desired.networks) {
    const sorted = networkLinks.get(network.netns);
    const links = withoutDeletedMasters(sorted?.kept ?? new Map(), sorted?.deleted ?? []);
    actions.push(...networkChanges(desired, network, links, networks.get(network.netns), created));
  }
  for (const network of desired.networks) actions.push(...bridgeNetfilterOff(network.netns, networks.get(network.netns)));
  for (const sandbox of desired.sandboxes) {
    const links = sandboxLinks.get(sandbox.netns) ?? [];
    const route = sandboxes.get(sandbox.netns)?.defaultRoute;
    actions.push(...configureSandbox(desired.ownerTag, sandbox, sandboxInterfaces(desired, sandbox), links, created, route));
  }
  actions.push(...planFirewall(desired, observed.firewall));
  return actions;
}

interface SortedLinks {
  kept: Map<string, ObservedLink>;
  deleted: ObservedLink[];
}

function sortLinks(links: readonly ObservedLink[], keep: (link: ObservedLink) => boolean): SortedLinks {
  const sorted: SortedLinks = { kept: new Map(), deleted: [] };
  for (const link of links) {
    if (keep(link)) sorted.kept.set(link.name, link);
    else sorted.deleted.push(link);
  }
  return sorted;
}

type PeerLookup = (netns: string, interfaceName: string) => ObservedLink | undefined;

/**
 * Host links of ours that stay: the gateway bridge and bridge networks' bridges while wanted, and
 * gateway veths and bridge networks' endpoint veths still paired with their sandbox end.
 */
function hostLinkKeeper(desired: DesiredKernel, peerIn: PeerLookup): (link: ObservedLink) => boolean {
  const sandboxEnds = new Map([
    ...desired.sandboxes.flatMap((sandbox) => (sandbox.egress ? [[sandbox.egress.hostName, [sandbox.netns, sandbox.egress.interfaceName]] as const] : [])),
    ...desired.endpoints.filter((endpoint) => endpoint.networkNetns === undefined).map((endpoint) => [endpoint.hostName, [endpoint.netns, endpoint.interfaceName]] as const),
  ]);
  const bridges = new Set(desired.localBridges.map((bridge) => bridge.name));
  return (link) => {
    if (link.name === GATEWAY_BRIDGE) return desired.gateway !== undefined && link.kind === 'bridge';
    if (bridges.has(link.name)) return link.kind === 'bridge';
    const end = sandboxEnds.get(link.name);
    const peer = end && peerIn(...end);
    return peer !== undefined && isPairedVeth(link, peer);
  };
}

/** Links of a network's namespace that stay: wanted, of the right kind, and not needing a recreate. Everything there is ours. */
function networkLinkKeeper(
  desired: DesiredKernel,
  network: DesiredNetwork,
  hostLinks: readonly ObservedLink[],
  networkLinks: readonly ObservedLink[],
  peerIn: PeerLookup,
): (link: ObservedLink) => boolean {
  const underlayIfindex = hostLinks.find((link) => link.name === network.vxlan.underlayDevice)?.ifindex;
  const endpoints = new Map(
    desired.endpoints.filter((endpoint) => endpoint.networkNetns === network.netns).map((endpoint) => [endpoint.hostName, endpoint]),
  );
  return (link) => {
    if (link.name === network.bridge.name) return link.kind === 'bridge';
    if (link.name === network.vxlan.name) return vxlanMatches(link, network.vxlan, underlayIfindex, networkLinks);
    const endpoint = endpoints.get(link.name);
    const peer = endpoint && peerIn(endpoint.netns, endpoint.interfaceName);
    return peer !== undefined && isPairedVeth(link, peer);
  };
}

/**
 * Sandbox namespaces of ours that are not wanted as they are: their names are deleted this pass.
 * That is those no sandbox wants, and a process's namespace still attached under a name that a
 * created sandbox now wants (a removed sandbox's name handed to a new one, both seen in one view):
 * the created sandbox must get a namespace of its own, never move into the process's.
 */
function staleSandboxes(desired: DesiredKernel, observed: ObservedKernel): ObservedSandbox[] {
  const desiredSandboxes = new Map(desired.sandboxes.map((sandbox) => [sandbox.netns, sandbox]));
  // Only names with our prefix are ever deleted: an adopted foreign namespace is never ours to remove.
  return observed.sandboxes
    .filter((sandbox) => isSandboxNetnsName(sandbox.netns))
    .filter((sandbox) => {
      const wanted = desiredSandboxes.get(sandbox.netns);
      // The host's namespace carries no tag: its name (ours, with our prefix) only ever goes, not the namespace.
      if (isHostNamespace(sandbox, observed.hostLinks)) return wanted?.origin.kind !== 'host';
      const tag = ownerTagOf(sandbox);
      if (tag?.owner !== desired.ownerTag) return false;
      return wanted === undefined || wanted.origin.kind === 'host' || (wanted.origin.kind === 'created' && tag.origin === 'attached');
    });
}

/**
 * Whether a link is one end of a veth pair whose other end is in a namespace the agent created
 * and deletes this pass. Deleting a created namespace's name destroys the namespace, and the
 * kernel takes each veth pair in it along, both ends (≈ 16 ms of the kernel's apiece when deleted
 * one by one, next to nothing in its teardown): such host ends are not deleted on their own. An
 * attached process's namespace outlives its name, so its veths are deleted explicitly, as are
 * those of a namespace that could not be read (nothing says what is in it). So is a link on a
 * name this pass adds again: the kernel's teardown runs in the background, after this pass's adds.
 */
function takenWithNamespaces(desired: DesiredKernel, stale: readonly ObservedSandbox[]): (link: ObservedLink) => boolean {
  const wanted = new Set([
    ...desired.endpoints.map((endpoint) => endpoint.hostName),
    ...desired.sandboxes.flatMap((sandbox) => (sandbox.egress ? [sandbox.egress.hostName] : [])),
  ]);
  const doomedEnds = new Map<string, ObservedLink[]>();
  for (const sandbox of stale.filter((candidate) => ownerTagOf(candidate)?.origin === 'created')) {
    for (const end of sandbox.links) {
      if (end.alias !== undefined) doomedEnds.set(end.alias, [...(doomedEnds.get(end.alias) ?? []), end]);
    }
  }
  return (link) => !wanted.has(link.name) && (doomedEnds.get(link.name)?.some((end) => isPairedVeth(link, end)) ?? false);
}

/**
 * Of a network namespace deleted whole, what is deleted first, synchronously: its VXLAN device
 * and the veths whose sandbox ends stay (the rest, its bridge, the FDB and neighbour entries, die
 * with it). The kernel tears a namespace down in the background, and until it has, a VXLAN device
 * there keeps its VNI from the same network coming straight back (measured: "A VXLAN device with
 * the specified VNI already exists" on re-adding it right after `ip netns del`), and a veth keeps
 * its sandbox end's name in a sandbox that may need that name for another network.
 */
function outlivesTeardown(link: ObservedLink): boolean {
  return link.kind === 'vxlan' || link.kind === 'veth';
}

/** Namespaces: stale and unreadable ones deleted, missing ones added (or, for an adopted process, attached). */
function namespaceChanges(
  desired: DesiredKernel,
  observed: ObservedKernel,
  stale: readonly ObservedSandbox[],
  sandboxes: ReadonlyMap<string, ObservedSandbox>,
  networks: ReadonlyMap<string, ObservedNetwork>,
): KernelAction[] {
  const ours = (netns: string) => netns.startsWith(desired.networkNetnsPrefix);
  const staleSandboxes = stale.map((sandbox) => sandbox.netns);
  const sandboxesToMake = desired.sandboxes.filter(
    (sandbox) => sandbox.origin.kind !== 'named' && !sandboxes.has(sandbox.netns),
  );
  const brokenSandboxes = sandboxesToMake.map((sandbox) => sandbox.netns).filter((netns) => observed.brokenSandboxes.includes(netns));
  const brokenNetworks = observed.brokenNetworks.filter(ours);
  const networksToMake = desired.networks.filter((network) => !networks.has(network.netns)).map((network) => network.netns);

  return [
    ...[...staleSandboxes, ...brokenSandboxes, ...staleNetworks(desired, observed), ...brokenNetworks].map((netns) => ipAction(ROOT, 'netns', 'del', netns)),
    ...sandboxesToMake.map(makeNetns),
    ...networksToMake.map((netns) => ipAction(ROOT, 'netns', 'add', netns)),
  ];
}

/** Network namespaces of ours that are not wanted: only under our own prefix, other agents' are theirs. */
function staleNetworks(desired: DesiredKernel, observed: ObservedKernel): string[] {
  const wanted = new Set(desired.networks.map((network) => network.netns));
  return observed.networks
    .map((network) => network.netns)
    .filter((netns) => netns.startsWith(desired.networkNetnsPrefix) && !wanted.has(netns));
}

/** `ip netns add`, or for an adopted process `ip netns attach`: both run where the agent runs (see iproute-kernel.ts); the host's is named from inside. */
function makeNetns(sandbox: DesiredSandbox): KernelAction {
  const { origin, netns } = sandbox;
  if (origin.kind === 'attached') return ipAction(ROOT, 'netns', 'attach', netns, `${origin.pid}`);
  // Entered from the host's namespace (not the agent's: they differ in tests and the lab), named from there.
  if (origin.kind === 'host') return attachAction(HOST, netns);
  return ipAction(ROOT, 'netns', 'add', netns);
}

/**
 * The gateway bridge and its address, bridge networks' bridges with their gateways, VXLAN devices
 * to create, gateway veths, bridge networks' endpoint veths, and IP forwarding.
 */
function hostLinkChanges(
  desired: DesiredKernel,
  observed: ObservedKernel,
  hostLinks: ReadonlyMap<string, ObservedLink>,
  networkLinks: ReadonlyMap<string, SortedLinks>,
  created: Set<string>,
): KernelAction[] {
  const actions: KernelAction[] = [];
  const { gateway } = desired;
  if (gateway !== undefined) {
    const { actions: bridgeActions, bridge } = ensureBridge(HOST, hostLinks.get(gateway.bridge), { name: gateway.bridge, mtu: gateway.mtu });
    actions.push(...bridgeActions, ...addressFixes(HOST, bridge, gateway.address));
  }
  for (const wanted of desired.localBridges) {
    const { actions: bridgeActions, bridge } = ensureBridge(HOST, hostLinks.get(wanted.name), wanted, true);
    actions.push(...bridgeActions, ...addressSetFixes(HOST, bridge, wanted.addresses));
  }
  for (const network of desired.networks) {
    if (networkLinks.get(network.netns)?.kept.has(network.vxlan.name)) continue;
    actions.push(addVxlan(HOST, network.vxlan, network.netns));
  }
  for (const sandbox of desired.sandboxes) {
    const { egress } = sandbox;
    if (egress === undefined || gateway === undefined) continue;
    actions.push(...ensureVethPair(HOST, hostLinks.get(egress.hostName), {
      hostName: egress.hostName, master: gateway.bridge, mtu: egress.mtu,
      netns: sandbox.netns, interfaceName: egress.interfaceName, mac: undefined,
      // Sandboxes never reach each other through the gateway bridge (Docker's icc=false on
      // docker_gwbridge, which needs br_netfilter): only the host, which routes them out.
    }, created, true));
  }
  for (const endpoint of desired.endpoints.filter((candidate) => candidate.networkNetns === undefined)) {
    actions.push(...ensureVethPair(HOST, hostLinks.get(endpoint.hostName), {
      hostName: endpoint.hostName, master: endpoint.bridge, mtu: endpoint.mtu,
      netns: endpoint.netns, interfaceName: endpoint.interfaceName, mac: endpoint.mac,
    }, created, endpoint.isolated));
  }
  // Routing between the host's bridges and the underlay; never turned back off, as other things on the host may rely on it.
  const routes = gateway !== undefined || desired.localBridges.length > 0;
  if (routes && !observed.ipForwarding) actions.push({ scope: HOST, tool: 'sysctl', args: ['net.ipv4.ip_forward=1'] });
  return actions;
}

/** A network's bridge, its VXLAN device's master, its sandboxes' host ends, neighbours and FDB, inside its namespace. */
function networkChanges(
  desired: DesiredKernel,
  network: DesiredNetwork,
  links: ReadonlyMap<string, ObservedLink>,
  observed: ObservedNetwork | undefined,
  created: Set<string>,
): KernelAction[] {
  const scope = inNetns(network.netns);
  const { bridge, vxlan } = network;
  const { actions } = ensureBridge(scope, links.get(bridge.name), bridge);
  const currentVxlan = links.get(vxlan.name) ?? newLink(vxlan.name, 'vxlan', { mtu: vxlan.mtu });
  actions.push(...linkFixes(scope, currentVxlan, { mtu: vxlan.mtu, master: bridge.name }));
  for (const endpoint of desired.endpoints.filter((candidate) => candidate.networkNetns === network.netns)) {
    actions.push(...ensureVethPair(scope, links.get(endpoint.hostName), {
      hostName: endpoint.hostName, master: bridge.name, mtu: endpoint.mtu,
      netns: endpoint.netns, interfaceName: endpoint.interfaceName, mac: endpoint.mac,
    }, created));
  }
  // Entries vanish with their device: a recreated VXLAN device starts empty.
  const surviving = links.has(vxlan.name) ? observed : undefined;
  actions.push(...planNeighbours(scope, network.neighbours, surviving?.neighbours ?? []));
  actions.push(...planFdb(scope, network.fdb, surviving?.fdb ?? []));
  return actions;
}

/**
 * Bridged packets skip netfilter in a network's namespace: nothing there filters them (the
 * namespace itself is the isolation), and with br_netfilter loaded the hooks cost about 7 % of
 * overlay throughput (bench/dataplane). A namespace made in this pass starts with br_netfilter's
 * default (on), so it is written without being read; sysctl skips switches the kernel lacks.
 */
function bridgeNetfilterOff(netns: string, observed: ObservedNetwork | undefined): KernelAction[] {
  if (observed !== undefined && observed.bridgeNetfilter !== true) return [];
  return [{ scope: inNetns(netns), tool: 'sysctl', args: BRIDGE_NETFILTER_SYSCTLS.map((key) => `${key}=0`) }];
}

function withoutDeletedMasters(
  kept: ReadonlyMap<string, ObservedLink>,
  deleted: readonly ObservedLink[],
): Map<string, ObservedLink> {
  const deletedNames = new Set(deleted.map((link) => link.name));
  return new Map(
    [...kept].map(([name, link]) => [
      name,
      link.master !== undefined && deletedNames.has(link.master) ? { ...link, master: undefined } : link,
    ]),
  );
}
