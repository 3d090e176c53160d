import {
  DefaultRoute,
  DesiredEndpoint,
  DesiredKernel,
  DesiredSandbox,
  DesiredVxlan,
  HOST,
  KernelAction,
  ObservedKernel,
  ObservedLink,
  ObservedSandbox,
  ROOT,
  Scope,
  inSandbox,
  ipAction,
  isOwnedLinkName,
  isSandboxNetnsName,
} from '../kernel';
import { planFdb, planNeighbours } from './plan-forwarding';

/**
 * The writes that turn `observed` into `desired`, in an order the kernel accepts. Pure.
 *
 * Phases (each becomes one batch per namespace): delete host links that are stale or must be
 * recreated; delete stale sandbox interfaces; delete and add (or attach) namespaces; add or fix
 * host links; configure each sandbox; FDB; neighbours. Objects that a delete takes with it (a
 * veth's peer, a bridge's port membership, a VXLAN device's entries) are treated as gone from then
 * on, so nothing is deleted twice and nothing is assumed to survive that does not. In an adopted
 * namespace only the agent's own interfaces, addresses and routes are ever written.
 */
export function plan(desired: DesiredKernel, observed: ObservedKernel): KernelAction[] {
  const ownedHostLinks = observed.hostLinks.filter((link) => isOwnedLinkName(link.name));
  const sandboxes = new Map(observed.sandboxes.map((sandbox) => [sandbox.netns, sandbox]));
  const desiredSandboxes = new Set(desired.sandboxes.map((sandbox) => sandbox.netns));
  const broken = new Set(observed.brokenSandboxes);

  const keptHostLinks = new Map<string, ObservedLink>();
  const deletedHostLinks: ObservedLink[] = [];
  const keep = hostLinkKeeper(desired, sandboxes);
  for (const link of ownedHostLinks) {
    if (keep(link)) keptHostLinks.set(link.name, link);
    else deletedHostLinks.push(link);
  }

  // Only names with our prefix are ever deleted: an adopted foreign namespace is never ours to remove.
  const staleSandboxes = observed.sandboxes
    .filter((sandbox) => isSandboxNetnsName(sandbox.netns) && !desiredSandboxes.has(sandbox.netns))
    .filter((sandbox) => ownerTagOf(sandbox) === desired.ownerTag)
    .map((sandbox) => sandbox.netns);
  const sandboxesToMake = desired.sandboxes.filter(
    (sandbox) => sandbox.origin.kind !== 'named' && !sandboxes.has(sandbox.netns),
  );
  const brokenToReplace = sandboxesToMake.map((sandbox) => sandbox.netns).filter((netns) => broken.has(netns));

  const actions: KernelAction[] = [];
  for (const link of deletedHostLinks) actions.push(ipAction(HOST, 'link', 'del', 'dev', link.name));

  const sandboxLinksAfterDeletes = new Map<string, ObservedLink[]>();
  for (const sandbox of desired.sandboxes) {
    const current = sandboxes.get(sandbox.netns);
    if (current === undefined) continue;
    const { kept, deletes } = sandboxInterfaceDeletes(desired, sandbox, current, keptHostLinks, deletedHostLinks);
    sandboxLinksAfterDeletes.set(sandbox.netns, kept);
    actions.push(...deletes);
  }

  for (const netns of [...staleSandboxes, ...brokenToReplace]) actions.push(ipAction(ROOT, 'netns', 'del', netns));
  for (const sandbox of sandboxesToMake) actions.push(makeNetns(sandbox));

  const hostLinks = withoutDeletedMasters(keptHostLinks, deletedHostLinks);
  const createdPairs = new Set<DesiredEndpoint>();
  for (const bridge of desired.bridges) {
    const current = hostLinks.get(bridge.name);
    if (current === undefined) {
      actions.push(ipAction(HOST, 'link', 'add', 'name', bridge.name, 'mtu', `${bridge.mtu}`, 'up', 'type', 'bridge'));
    } else {
      actions.push(...linkFixes(HOST, current, { mtu: bridge.mtu }));
    }
  }
  for (const vxlan of desired.vxlans) {
    const current = hostLinks.get(vxlan.name);
    if (current === undefined) actions.push(addVxlan(vxlan));
    else actions.push(...linkFixes(HOST, current, { mtu: vxlan.mtu, master: vxlan.bridge }));
  }
  for (const endpoint of desired.endpoints) {
    const current = hostLinks.get(endpoint.hostName);
    if (current === undefined) {
      createdPairs.add(endpoint);
      actions.push(addVethPair(endpoint));
    } else {
      actions.push(...linkFixes(HOST, current, { mtu: endpoint.mtu, master: endpoint.bridge }));
    }
  }

  for (const sandbox of desired.sandboxes) {
    const current = sandboxLinksAfterDeletes.get(sandbox.netns) ?? [];
    const endpoints = desired.endpoints.filter((endpoint) => endpoint.netns === sandbox.netns);
    actions.push(...configureSandbox(desired.ownerTag, sandbox, endpoints, current, createdPairs, sandboxes));
  }

  const survivingVxlans = (entry: { device: string }) => hostLinks.has(entry.device);
  actions.push(...planFdb(desired.fdb, observed.fdb.filter(survivingVxlans)));
  actions.push(...planNeighbours(desired.neighbours, observed.neighbours.filter(survivingVxlans)));
  return actions;
}

export const OWNER_TAG_PREFIX = 'trellis-owner=';

function ownerTagOf(sandbox: ObservedSandbox): string | undefined {
  const alias = sandbox.links.find((link) => link.name === 'lo')?.alias;
  return alias?.startsWith(OWNER_TAG_PREFIX) ? alias.slice(OWNER_TAG_PREFIX.length) : undefined;
}

/** `ip netns add`, or for an adopted process `ip netns attach`: both run where the agent runs (see iproute-kernel.ts). */
function makeNetns(sandbox: DesiredSandbox): KernelAction {
  const { origin, netns } = sandbox;
  if (origin.kind === 'attached') return ipAction(ROOT, 'netns', 'attach', netns, `${origin.pid}`);
  return ipAction(ROOT, 'netns', 'add', netns);
}

export function isVethPeer(hostSide: ObservedLink, sandboxSide: ObservedLink): boolean {
  return hostSide.peerIfindex === sandboxSide.ifindex && sandboxSide.peerIfindex === hostSide.ifindex;
}

/** Whether an owned host link can stay: wanted, of the right kind, and not needing a recreate. */
function hostLinkKeeper(
  desired: DesiredKernel,
  sandboxes: ReadonlyMap<string, ObservedSandbox>,
): (link: ObservedLink) => boolean {
  const bridges = new Set(desired.bridges.map((bridge) => bridge.name));
  const vxlans = new Map(desired.vxlans.map((vxlan) => [vxlan.name, vxlan]));
  const endpoints = new Map(desired.endpoints.map((endpoint) => [endpoint.hostName, endpoint]));
  return (link) => {
    if (bridges.has(link.name)) return link.kind === 'bridge';
    const vxlan = vxlans.get(link.name);
    if (vxlan !== undefined) return vxlanMatches(link, vxlan);
    const endpoint = endpoints.get(link.name);
    if (endpoint !== undefined) {
      const peer = sandboxes.get(endpoint.netns)?.links.find((l) => l.name === endpoint.interfaceName);
      return link.kind === 'veth' && peer !== undefined && peer.kind === 'veth' && isVethPeer(link, peer);
    }
    return false;
  };
}

/** VXLAN attributes cannot all be changed in place (the kernel refuses PROXY): recreate instead. */
function vxlanMatches(link: ObservedLink, vxlan: DesiredVxlan): boolean {
  const current = link.vxlan;
  return (
    current !== undefined &&
    current.vni === vxlan.vni &&
    current.local === vxlan.local &&
    current.port === vxlan.port &&
    current.underlayDevice === vxlan.underlayDevice &&
    current.learning === vxlan.learning &&
    current.proxy === vxlan.proxy
  );
}

/**
 * Sandbox interfaces to delete: veths that are not a kept endpoint's peer, and anything sitting
 * on a name an endpoint needs. Peers of deleted host veths are already gone with them. In an
 * adopted namespace nothing else is deleted: every other interface there is its maker's (and
 * checkAdoptedNamespaces keeps endpoints off names those hold).
 */
function sandboxInterfaceDeletes(
  desired: DesiredKernel,
  wantedSandbox: DesiredSandbox,
  sandbox: ObservedSandbox,
  keptHostLinks: ReadonlyMap<string, ObservedLink>,
  deletedHostLinks: readonly ObservedLink[],
): { kept: ObservedLink[]; deletes: KernelAction[] } {
  const wanted = new Map(
    desired.endpoints
      .filter((endpoint) => endpoint.netns === sandbox.netns)
      .map((endpoint) => [endpoint.interfaceName, endpoint]),
  );
  const adopted = wantedSandbox.origin.kind !== 'created';
  const kept: ObservedLink[] = [];
  const deletes: KernelAction[] = [];
  for (const link of sandbox.links) {
    if (deletedHostLinks.some((hostSide) => isVethPeer(hostSide, link))) continue;
    const endpoint = wanted.get(link.name);
    const hostSide = endpoint && keptHostLinks.get(endpoint.hostName);
    const isKeptPeer = hostSide !== undefined && isVethPeer(hostSide, link);
    if (adopted || isKeptPeer || link.name === 'lo' || (endpoint === undefined && link.kind !== 'veth')) {
      kept.push(link);
    } else {
      deletes.push(ipAction(inSandbox(sandbox.netns), 'link', 'del', 'dev', link.name));
    }
  }
  return { kept, deletes };
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

interface LinkSettings {
  mtu: number;
  master?: string;
  mac?: string;
}

/** One `link set` with every attribute that differs (and `up`), or nothing when all match. */
function linkFixes(scope: Scope, current: ObservedLink, wanted: LinkSettings): KernelAction[] {
  const changes: string[] = [];
  if (wanted.mac !== undefined && current.mac !== wanted.mac) changes.push('address', wanted.mac);
  if (current.mtu !== wanted.mtu) changes.push('mtu', `${wanted.mtu}`);
  if (wanted.master !== undefined && current.master !== wanted.master) changes.push('master', wanted.master);
  if (!current.up) changes.push('up');
  return changes.length === 0 ? [] : [ipAction(scope, 'link', 'set', 'dev', current.name, ...changes)];
}

function addVxlan(vxlan: DesiredVxlan): KernelAction {
  return ipAction(
    HOST,
    'link', 'add', 'name', vxlan.name, 'mtu', `${vxlan.mtu}`, 'master', vxlan.bridge, 'up',
    'type', 'vxlan', 'id', `${vxlan.vni}`, 'dstport', `${vxlan.port}`,
    ...(vxlan.local ? ['local', vxlan.local] : []),
    'dev', vxlan.underlayDevice,
    vxlan.learning ? 'learning' : 'nolearning',
    vxlan.proxy ? 'proxy' : 'noproxy',
  );
}

/** Both ends in one netlink request: the peer is born inside the sandbox, never stranded here. */
function addVethPair(endpoint: DesiredEndpoint): KernelAction {
  return ipAction(
    HOST,
    'link', 'add', 'name', endpoint.hostName, 'mtu', `${endpoint.mtu}`, 'master', endpoint.bridge, 'up',
    'type', 'veth', 'peer', 'name', endpoint.interfaceName, 'netns', endpoint.netns,
    'address', endpoint.mac, 'mtu', `${endpoint.mtu}`,
  );
}

/** How a freshly created veth peer looks before the sandbox batch configures it. */
function newPeer(endpoint: DesiredEndpoint): ObservedLink {
  return {
    name: endpoint.interfaceName,
    kind: 'veth',
    ifindex: -1,
    peerIfindex: undefined,
    mtu: endpoint.mtu,
    up: false,
    mac: endpoint.mac,
    master: undefined,
    alias: undefined,
    vxlan: undefined,
    addresses: [],
    // Unknown until read back: the kernel default is whatever this host's sysctl says.
    arpRetransMs: undefined,
  };
}

function configureSandbox(
  ownerTag: string,
  sandbox: DesiredSandbox,
  endpoints: readonly DesiredEndpoint[],
  links: readonly ObservedLink[],
  createdPairs: ReadonlySet<DesiredEndpoint>,
  observedSandboxes: ReadonlyMap<string, ObservedSandbox>,
): KernelAction[] {
  const scope = inSandbox(sandbox.netns);
  const actions: KernelAction[] = [...tagLoopback(ownerTag, sandbox, links)];

  for (const endpoint of endpoints) {
    const current = createdPairs.has(endpoint)
      ? newPeer(endpoint)
      : links.find((link) => link.name === endpoint.interfaceName) ?? newPeer(endpoint);
    actions.push(...linkFixes(scope, current, { mtu: endpoint.mtu, mac: endpoint.mac }));
    for (const address of current.addresses.filter((address) => address !== endpoint.address)) {
      actions.push(ipAction(scope, 'addr', 'del', address, 'dev', endpoint.interfaceName));
    }
    if (!current.addresses.includes(endpoint.address)) {
      actions.push(ipAction(scope, 'addr', 'add', endpoint.address, 'dev', endpoint.interfaceName));
    }
    if (current.arpRetransMs !== endpoint.arpRetransMs) {
      actions.push(ipAction(
        scope, 'ntable', 'change', 'name', 'arp_cache', 'dev', endpoint.interfaceName,
        'retrans', `${endpoint.arpRetransMs}`,
      ));
    }
  }

  const recreated = endpoints.filter((endpoint) => createdPairs.has(endpoint));
  const route = currentDefaultRoute(sandbox.netns, links, recreated, observedSandboxes);
  const throughTheirs = route !== undefined && !endpoints.some((endpoint) => endpoint.interfaceName === route.device);
  // An adopted namespace's own default route (its runtime's network) wins: never replaced, never deleted.
  if (sandbox.origin.kind !== 'created' && throughTheirs) return actions;
  if (sandbox.defaultRoute !== undefined && !sameRoute(route, sandbox.defaultRoute)) {
    const { gateway, device } = sandbox.defaultRoute;
    actions.push(ipAction(scope, 'route', 'replace', 'default', 'via', gateway, 'dev', device));
  } else if (sandbox.defaultRoute === undefined && route !== undefined) {
    actions.push(ipAction(scope, 'route', 'del', 'default'));
  }
  return actions;
}

/**
 * The owner tag on lo is how every later pass (and another agent sharing /run/netns) tells whose a
 * namespace name is. A namespace of our own also gets lo up; an attached process's namespace gets
 * only the tag (its lo is its runtime's business); a named foreign one is never touched.
 */
function tagLoopback(ownerTag: string, sandbox: DesiredSandbox, links: readonly ObservedLink[]): KernelAction[] {
  const scope = inSandbox(sandbox.netns);
  const alias = `${OWNER_TAG_PREFIX}${ownerTag}`;
  const lo = links.find((link) => link.name === 'lo');
  if (sandbox.origin.kind === 'named') return [];
  if (sandbox.origin.kind === 'attached') {
    return lo?.alias === alias ? [] : [ipAction(scope, 'link', 'set', 'dev', 'lo', 'alias', alias)];
  }
  return lo !== undefined && lo.up && lo.alias === alias ? [] : [ipAction(scope, 'link', 'set', 'dev', 'lo', 'up', 'alias', alias)];
}

/** A route disappears with the interface it goes through, when that is deleted or recreated. */
function currentDefaultRoute(
  netns: string,
  keptLinks: readonly ObservedLink[],
  recreated: readonly DesiredEndpoint[],
  observedSandboxes: ReadonlyMap<string, ObservedSandbox>,
): DefaultRoute | undefined {
  const route = observedSandboxes.get(netns)?.defaultRoute;
  if (route === undefined) return undefined;
  const survives =
    keptLinks.some((link) => link.name === route.device) &&
    !recreated.some((endpoint) => endpoint.interfaceName === route.device);
  return survives ? route : undefined;
}

function sameRoute(a: DefaultRoute | undefined, b: DefaultRoute): boolean {
  return a !== undefined && a.gateway === b.gateway && a.device === b.device;
}
