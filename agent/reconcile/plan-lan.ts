import {
  DesiredKernel,
  DesiredLanEndpoint,
  DesiredSandbox,
  HOST,
  KernelAction,
  LAN_DEVICE_PREFIX,
  ObservedLink,
  VLAN_ALIAS,
  ipAction,
} from '../kernel';
import type { SandboxInterface } from './plan-sandbox';

/*
 * The plan half of the macvlan and ipvlan drivers. A LAN endpoint's device is created from the
 * host namespace, where its parent is, straight into the sandbox under its interface name (one
 * netlink request: it is never stranded in the host), and tagged there by its alias (trmv- +
 * endpoint id), as a veth's sandbox end is by its host end's name. It is kept while it is of the
 * wanted kind and mode on the wanted parent (its link_index is the parent's ifindex); anything
 * else is deleted and made again. VLAN parents the agent made carry VLAN_ALIAS: only those are
 * removed, and one of the same name without it is the user's and left alone.
 */

/** A macvlan or ipvlan device that the agent made (in any sandbox, adopted ones too). */
export function isOurLanDevice(link: ObservedLink): boolean {
  return (link.kind === 'macvlan' || link.kind === 'ipvlan') && (link.alias?.startsWith(LAN_DEVICE_PREFIX) ?? false);
}

export function isOurVlan(link: ObservedLink): boolean {
  return link.kind === 'vlan' && link.alias === VLAN_ALIAS;
}

/** The LAN endpoints of a sandbox, as the interfaces configureSandbox sets up. */
export function lanInterfaces(desired: DesiredKernel, sandbox: DesiredSandbox): SandboxInterface[] {
  return desired.lanEndpoints
    .filter((endpoint) => endpoint.netns === sandbox.netns)
    // A LAN's ARP goes out on the wire: the kernel's retry timing, not the sandbox bridges' fast one.
    .map(({ interfaceName, hostName, mtu, mac, address }) => ({ interfaceName, hostName, mtu, mac, address, arpRetransMs: undefined }));
}

/** Whether a sandbox's link is a wanted LAN endpoint's device as it should be, by namespace. */
export function lanKeeper(desired: DesiredKernel, hostLinks: readonly ObservedLink[]): (netns: string, link: ObservedLink) => boolean {
  const wanted = new Map(desired.lanEndpoints.map((endpoint) => [`${endpoint.netns}/${endpoint.interfaceName}`, endpoint]));
  const parents = new Map(hostLinks.map((link) => [link.name, link.ifindex]));
  return (netns, link) => {
    const endpoint = wanted.get(`${netns}/${link.name}`);
    return endpoint !== undefined && matches(link, endpoint, parents.get(endpoint.parent));
  };
}

function matches(link: ObservedLink, endpoint: DesiredLanEndpoint, parentIfindex: number | undefined): boolean {
  return link.kind === endpoint.kind && link.mode === endpoint.mode && link.alias === endpoint.hostName
    && parentIfindex !== undefined && link.peerIfindex === parentIfindex;
}

/** Our VLAN devices that no network wants any more: deleted with the host's stale links (their LAN devices go with them). */
export function staleVlanDeletes(desired: DesiredKernel, hostLinks: readonly ObservedLink[]): KernelAction[] {
  const wanted = new Set(desired.vlans.map((vlan) => vlan.name));
  return hostLinks.filter((link) => isOurVlan(link) && !wanted.has(link.name)).map((link) => ipAction(HOST, 'link', 'del', 'dev', link.name));
}

/**
 * In the host namespace: the VLAN parents (made, or brought up), then every LAN device that is
 * not kept (`kept`: by namespace, the sandbox links that stay), each noted in `created`.
 */
export function lanHostChanges(
  desired: DesiredKernel,
  hostLinks: readonly ObservedLink[],
  kept: ReadonlyMap<string, readonly ObservedLink[]>,
  keeps: (netns: string, link: ObservedLink) => boolean,
  created: Set<string>,
): KernelAction[] {
  const actions: KernelAction[] = [];
  for (const vlan of desired.vlans) {
    const current = hostLinks.find((link) => link.name === vlan.name);
    if (current === undefined) {
      actions.push(ipAction(HOST, 'link', 'add', 'link', vlan.base, 'name', vlan.name, 'up', 'type', 'vlan', 'id', `${vlan.id}`));
      actions.push(ipAction(HOST, 'link', 'set', 'dev', vlan.name, 'alias', VLAN_ALIAS));
    } else if (isOurVlan(current) && !current.up) {
      actions.push(ipAction(HOST, 'link', 'set', 'dev', vlan.name, 'up'));
    }
  }
  for (const endpoint of desired.lanEndpoints) {
    if (kept.get(endpoint.netns)?.some((link) => link.name === endpoint.interfaceName && keeps(endpoint.netns, link))) continue;
    created.add(endpoint.hostName);
    actions.push(ipAction(
      HOST,
      'link', 'add', 'link', endpoint.parent, 'name', endpoint.interfaceName, 'netns', endpoint.netns,
      ...(endpoint.mtu === undefined ? [] : ['mtu', `${endpoint.mtu}`]),
      ...(endpoint.mac === undefined ? [] : ['address', endpoint.mac]),
      'type', endpoint.kind, 'mode', endpoint.mode,
    ));
  }
  return actions;
}
