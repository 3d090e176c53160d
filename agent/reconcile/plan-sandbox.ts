import {
  DefaultRoute,
  DesiredKernel,
  DesiredSandbox,
  KernelAction,
  ObservedLink,
  ObservedSandbox,
  inNetns,
  ipAction,
} from '../kernel';
import { addressFixes, isPairedVeth, isVethPeer, linkFixes, newLink } from './plan-links';
import { isOurLanDevice, lanInterfaces } from './plan-lan';

/** The sandbox half of plan(): which of its interfaces go, and how the rest are configured. */

/** The tag on lo of a namespace the agent made with `ip netns add`. */
export const OWNER_TAG_PREFIX = 'trellis-owner=';
/**
 * The tag on lo of a process's namespace the agent attached a name to: deleting that name leaves
 * the namespace (and anything in it) to the process, so its interfaces are deleted one by one.
 * Agents before this tag wrote OWNER_TAG_PREFIX here too; a pass that still wants the namespace
 * rewrites it. One so tagged that is no longer wanted when the agent is upgraded passes for
 * created: its name goes, and our veth in it only with the next pass, which finds its host end
 * unpaired.
 */
export const ATTACHED_TAG_PREFIX = 'trellis-attached=';

export interface OwnerTag {
  owner: string;
  origin: 'created' | 'attached';
}

/** undefined: not a tag of any owner's (untagged, or a foreign namespace's own alias). */
export function parseOwnerTag(alias: string | undefined): OwnerTag | undefined {
  if (alias?.startsWith(OWNER_TAG_PREFIX)) return { owner: alias.slice(OWNER_TAG_PREFIX.length), origin: 'created' };
  if (alias?.startsWith(ATTACHED_TAG_PREFIX)) return { owner: alias.slice(ATTACHED_TAG_PREFIX.length), origin: 'attached' };
  return undefined;
}

export function ownerTagOf(sandbox: ObservedSandbox): OwnerTag | undefined {
  return parseOwnerTag(sandbox.links.find((link) => link.name === 'lo')?.alias);
}

/**
 * Whether a namespace read as a sandbox is the host's own (a host-mode sandbox's name, attached by
 * this agent): it holds one of the host's links, by name, ifindex and MAC, which a link in any other
 * namespace cannot all share. Other agents' host names (the lab's hosts share /run/netns) hold
 * their own hosts' links, so each agent recognises only its own.
 */
export function isHostNamespace(sandbox: ObservedSandbox, hostLinks: readonly ObservedLink[]): boolean {
  return sandbox.links.some((link) => hasOwnMac(link)
    && hostLinks.some((host) => host.name === link.name && host.ifindex === link.ifindex && host.mac === link.mac));
}

/** lo, tun and other layer-3 devices have no MAC (or all zeros) to tell two namespaces' devices apart by. */
function hasOwnMac(link: ObservedLink): boolean {
  return link.mac !== '' && link.mac !== '00:00:00:00:00:00';
}

/** An interface the agent puts into a sandbox: an endpoint's veth end or LAN device, or the egress veth end. */
export interface SandboxInterface {
  interfaceName: string;
  /** The veth's host end, or a LAN device's tag: written as the interface's alias. */
  hostName: string;
  /** undefined: whatever the kernel gave it. */
  mtu: number | undefined;
  /** undefined: whatever the kernel gave it. */
  mac: string | undefined;
  address: string;
  /** ARP retransmit interval to set, in ms; undefined: left as the kernel has it. */
  arpRetransMs: number | undefined;
}

export function sandboxInterfaces(desired: DesiredKernel, sandbox: DesiredSandbox): SandboxInterface[] {
  const interfaces: SandboxInterface[] = desired.endpoints
    .filter((endpoint) => endpoint.netns === sandbox.netns)
    .map(({ interfaceName, hostName, mtu, mac, address, arpRetransMs }) => ({ interfaceName, hostName, mtu, mac, address, arpRetransMs }));
  interfaces.push(...lanInterfaces(desired, sandbox));
  if (sandbox.egress !== undefined) {
    const { interfaceName, hostName, mtu, address } = sandbox.egress;
    interfaces.push({ interfaceName, hostName, mtu, mac: undefined, address, arpRetransMs: undefined });
  }
  return interfaces;
}

/**
 * Sandbox interfaces to delete: veths that are not a kept host end's peer, LAN devices of ours
 * that `keepsLan` does not keep (in adopted namespaces too), and anything sitting on a name one of
 * ours needs. Peers of host ends deleted earlier in the pass are already gone
 * with them: those are matched by ifindexes alone, since an alias follows the interface's name,
 * not its pair. In an adopted namespace nothing else is deleted: every other interface there is
 * its maker's (and checkAdoptedNamespaces keeps ours off names those hold).
 */
export function sandboxInterfaceDeletes(
  wanted: readonly SandboxInterface[],
  adopted: boolean,
  sandbox: ObservedSandbox,
  keptHostEnds: ReadonlyMap<string, ObservedLink>,
  deletedHostEnds: readonly ObservedLink[],
  keepsLan: (link: ObservedLink) => boolean,
): { kept: ObservedLink[]; deletes: KernelAction[] } {
  const byName = new Map(wanted.map((item) => [item.interfaceName, item]));
  const kept: ObservedLink[] = [];
  const deletes: KernelAction[] = [];
  for (const link of sandbox.links) {
    const item = byName.get(link.name);
    const hostSide = item && keptHostEnds.get(item.hostName);
    if ((hostSide !== undefined && isPairedVeth(hostSide, link)) || keepsLan(link)) kept.push(link);
    else if (deletedHostEnds.some((deleted) => isVethPeer(deleted, link))) continue;
    else if (isOurLanDevice(link)) deletes.push(ipAction(inNetns(sandbox.netns), 'link', 'del', 'dev', link.name));
    else if (adopted || link.name === 'lo' || (item === undefined && link.kind !== 'veth')) kept.push(link);
    else deletes.push(ipAction(inNetns(sandbox.netns), 'link', 'del', 'dev', link.name));
  }
  return { kept, deletes };
}

/** Addresses, MTU, alias and ARP timing of each of our interfaces in the sandbox, its loopback and its default route. */
export function configureSandbox(
  ownerTag: string,
  sandbox: DesiredSandbox,
  interfaces: readonly SandboxInterface[],
  links: readonly ObservedLink[],
  created: ReadonlySet<string>,
  observedRoute: DefaultRoute | undefined,
): KernelAction[] {
  // The host's namespace is the user's: nothing of the agent's goes in it, not even a tag.
  if (sandbox.origin.kind === 'host') return [];
  const scope = inNetns(sandbox.netns);
  const actions: KernelAction[] = [...tagLoopback(ownerTag, sandbox, links)];

  for (const item of interfaces) {
    const fresh = newLink(item.interfaceName, 'veth', { mtu: item.mtu ?? -1, mac: item.mac ?? '' });
    const current = created.has(item.hostName) ? fresh : links.find((link) => link.name === item.interfaceName) ?? fresh;
    actions.push(...linkFixes(scope, current, { mtu: item.mtu, mac: item.mac, alias: item.hostName }));
    actions.push(...addressFixes(scope, current, item.address));
    if (item.arpRetransMs !== undefined && current.arpRetransMs !== item.arpRetransMs) {
      actions.push(ipAction(
        scope, 'ntable', 'change', 'name', 'arp_cache', 'dev', item.interfaceName,
        'retrans', `${item.arpRetransMs}`,
      ));
    }
  }

  const route = survivingRoute(observedRoute, links, interfaces, created);
  const throughTheirs = route !== undefined && !interfaces.some((item) => item.interfaceName === route.device);
  // An adopted namespace's own default route (its runtime's network) wins: never replaced, never deleted.
  if (sandbox.origin.kind !== 'created' && throughTheirs) return actions;
  if (sandbox.defaultRoute !== undefined && !sameRoute(route, sandbox.defaultRoute)) {
    const { gateway, device } = sandbox.defaultRoute;
    actions.push(ipAction(scope, 'route', 'replace', 'default', ...(gateway === '' ? [] : ['via', gateway]), 'dev', device));
  } else if (sandbox.defaultRoute === undefined && route !== undefined) {
    actions.push(ipAction(scope, 'route', 'del', 'default'));
  }
  return actions;
}

/**
 * The owner tag on lo is how every later pass (and another agent sharing /run/netns) tells whose a
 * namespace name is, and what deleting the name does. A namespace of our own also gets lo up; an
 * attached process's namespace gets only its own tag (its lo is its runtime's business); a named
 * foreign one is never touched.
 */
function tagLoopback(ownerTag: string, sandbox: DesiredSandbox, links: readonly ObservedLink[]): KernelAction[] {
  const scope = inNetns(sandbox.netns);
  const lo = links.find((link) => link.name === 'lo');
  if (sandbox.origin.kind === 'named' || sandbox.origin.kind === 'host') return [];
  if (sandbox.origin.kind === 'attached') {
    const alias = `${ATTACHED_TAG_PREFIX}${ownerTag}`;
    return lo?.alias === alias ? [] : [ipAction(scope, 'link', 'set', 'dev', 'lo', 'alias', alias)];
  }
  const alias = `${OWNER_TAG_PREFIX}${ownerTag}`;
  return lo !== undefined && lo.up && lo.alias === alias ? [] : [ipAction(scope, 'link', 'set', 'dev', 'lo', 'up', 'alias', alias)];
}

/**
 * A route disappears with the interface it goes through, when that is deleted or recreated, and
 * when the interface loses its last address (fib_disable_ip): addressFixes deletes the old
 * address before adding a new one.
 */
function survivingRoute(
  route: DefaultRoute | undefined,
  keptLinks: readonly ObservedLink[],
  interfaces: readonly SandboxInterface[],
  created: ReadonlySet<string>,
): DefaultRoute | undefined {
  if (route === undefined) return undefined;
  const ours = interfaces.find((item) => item.interfaceName === route.device);
  const kept = keptLinks.find((link) => link.name === route.device);
  const recreated = ours !== undefined && created.has(ours.hostName);
  const readdressed = ours !== undefined && kept !== undefined && !kept.addresses.includes(ours.address);
  return kept !== undefined && !recreated && !readdressed ? route : undefined;
}

function sameRoute(a: DefaultRoute | undefined, b: DefaultRoute): boolean {
  return a !== undefined && a.gateway === b.gateway && a.device === b.device;
}
