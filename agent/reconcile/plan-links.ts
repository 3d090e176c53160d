import { DesiredVxlan, KernelAction, ObservedLink, Scope, ipAction } from '../kernel';

/** Link-level building blocks of plan(): what a link must look like, and the writes that make it so. */

export function isVethPeer(hostSide: ObservedLink, sandboxSide: ObservedLink): boolean {
  return hostSide.peerIfindex === sandboxSide.ifindex && sandboxSide.peerIfindex === hostSide.ifindex;
}

/**
 * Ifindexes are per namespace, so with host ends spread over many namespaces a pair of indexes
 * alone could match the wrong pair: the sandbox end also carries its host end's name as alias.
 */
export function isPairedVeth(hostSide: ObservedLink, sandboxSide: ObservedLink): boolean {
  return hostSide.kind === 'veth' && sandboxSide.kind === 'veth' && sandboxSide.alias === hostSide.name && isVethPeer(hostSide, sandboxSide);
}

/**
 * VXLAN attributes cannot all be changed in place (the kernel refuses PROXY): recreate instead.
 * The underlay is an ifindex of the namespace the device was created in (the host's); iproute2
 * prints it as the name of whichever link of the reading namespace has that index, or `if<N>`
 * when none has, so it is mapped back to an index through the links read alongside.
 */
export function vxlanMatches(
  link: ObservedLink,
  vxlan: DesiredVxlan,
  underlayIfindex: number | undefined,
  sameNamespace: readonly ObservedLink[],
): boolean {
  const current = link.vxlan;
  return (
    link.kind === 'vxlan' &&
    current !== undefined &&
    current.vni === vxlan.vni &&
    current.local === vxlan.local &&
    current.port === vxlan.port &&
    underlayIfindex !== undefined &&
    printedIfindex(current.underlayDevice, sameNamespace) === underlayIfindex &&
    current.learning === vxlan.learning &&
    current.proxy === vxlan.proxy
  );
}

function printedIfindex(printed: string, sameNamespace: readonly ObservedLink[]): number | undefined {
  const named = sameNamespace.find((candidate) => candidate.name === printed);
  if (named !== undefined) return named.ifindex;
  const unnamed = /^if([0-9]+)$/.exec(printed)?.[1];
  return unnamed === undefined ? undefined : Number(unnamed);
}

export interface LinkSettings {
  /** undefined: left as it is. */
  mtu: number | undefined;
  master?: string;
  mac?: string;
  alias?: string;
  isolated?: boolean;
}

/** One `link set` with every attribute that differs (and `up`), then the port isolation if it differs; nothing when all match. */
export function linkFixes(scope: Scope, current: ObservedLink, wanted: LinkSettings): KernelAction[] {
  const changes: string[] = [];
  if (wanted.mac !== undefined && current.mac !== wanted.mac) changes.push('address', wanted.mac);
  if (wanted.mtu !== undefined && current.mtu !== wanted.mtu) changes.push('mtu', `${wanted.mtu}`);
  if (wanted.master !== undefined && current.master !== wanted.master) changes.push('master', wanted.master);
  if (wanted.alias !== undefined && current.alias !== wanted.alias) changes.push('alias', wanted.alias);
  if (!current.up) changes.push('up');
  const fixes = changes.length === 0 ? [] : [ipAction(scope, 'link', 'set', 'dev', current.name, ...changes)];
  // A port setting of its own: the kernel refuses it in the request that enslaves the link, and a
  // link that changes bridge is a new port there, not isolated.
  const isolated = changes.includes('master') ? false : current.isolated;
  if (wanted.isolated !== undefined && isolated !== wanted.isolated) {
    fixes.push(ipAction(scope, 'link', 'set', 'dev', current.name, 'type', 'bridge_slave', 'isolated', wanted.isolated ? 'on' : 'off'));
  }
  return fixes;
}

/**
 * Created from the host namespace straight into the network's: the device's UDP socket belongs
 * to the namespace it was created in, the underlay's. It arrives down and without a master.
 */
export function addVxlan(scope: Scope, vxlan: DesiredVxlan, netns: string): KernelAction {
  return ipAction(
    scope,
    'link', 'add', 'name', vxlan.name, 'netns', netns, 'mtu', `${vxlan.mtu}`,
    'type', 'vxlan', 'id', `${vxlan.vni}`, 'dstport', `${vxlan.port}`,
    ...(vxlan.local ? ['local', vxlan.local] : []),
    'dev', vxlan.underlayDevice,
    vxlan.learning ? 'learning' : 'nolearning',
    vxlan.proxy ? 'proxy' : 'noproxy',
  );
}

export interface VethPair {
  hostName: string;
  master: string;
  mtu: number;
  /** The sandbox end. */
  netns: string;
  interfaceName: string;
  /** undefined: the kernel picks one. */
  mac: string | undefined;
}

/** Both ends in one netlink request: the peer is born inside the sandbox, never stranded here. */
function addVethPair(scope: Scope, pair: VethPair): KernelAction {
  return ipAction(
    scope,
    'link', 'add', 'name', pair.hostName, 'mtu', `${pair.mtu}`, 'master', pair.master, 'up',
    'type', 'veth', 'peer', 'name', pair.interfaceName, 'netns', pair.netns,
    ...(pair.mac === undefined ? [] : ['address', pair.mac]), 'mtu', `${pair.mtu}`,
  );
}

/**
 * Fixes a veth pair's host end in place, or creates the pair (noting its host end in `created`).
 * `isolated`: the host end is an isolated bridge port (a port setting `link add` cannot take).
 */
export function ensureVethPair(
  scope: Scope,
  current: ObservedLink | undefined,
  pair: VethPair,
  created: Set<string>,
  isolated?: boolean,
): KernelAction[] {
  const wanted: LinkSettings = { mtu: pair.mtu, master: pair.master, isolated };
  if (current !== undefined) return linkFixes(scope, current, wanted);
  created.add(pair.hostName);
  const born = newLink(pair.hostName, 'veth', { mtu: pair.mtu, master: pair.master, up: true, isolated: false });
  return [addVethPair(scope, pair), ...linkFixes(scope, born, wanted)];
}

/** What a bridge is born with, and what it falls back to once its last port goes (br_mtu_auto_adjust). */
const BRIDGE_DEFAULT_MTU = 1500;

/**
 * Fixes a bridge in place or creates it; returns how it will look, for writes that follow.
 * `portless`: all its ports may go (a bridge network's, unlike an overlay's, which keeps its VXLAN
 * device): it is born at the default MTU and then set to its own, since only an MTU changed after
 * creation stays when the last port leaves; one given at `link add` falls back to 1500.
 */
export function ensureBridge(
  scope: Scope,
  current: ObservedLink | undefined,
  wanted: { name: string; mtu: number },
  portless = false,
): { actions: KernelAction[]; bridge: ObservedLink } {
  if (current !== undefined) return { actions: linkFixes(scope, current, { mtu: wanted.mtu }), bridge: current };
  const bridge = newLink(wanted.name, 'bridge', { mtu: wanted.mtu, up: true });
  if (!portless) return { actions: [ipAction(scope, 'link', 'add', 'name', wanted.name, 'mtu', `${wanted.mtu}`, 'up', 'type', 'bridge')], bridge };
  const actions = [ipAction(scope, 'link', 'add', 'name', wanted.name, 'up', 'type', 'bridge')];
  if (wanted.mtu !== BRIDGE_DEFAULT_MTU) actions.push(ipAction(scope, 'link', 'set', 'dev', wanted.name, 'mtu', `${wanted.mtu}`));
  return { actions, bridge };
}

/** How a link created this pass looks before later batches configure it. */
export function newLink(name: string, kind: string, fields: Partial<ObservedLink> = {}): ObservedLink {
  return {
    name, kind, ifindex: -1, peerIfindex: undefined, mtu: -1, up: false, mac: '', master: undefined,
    isolated: undefined, alias: undefined, vxlan: undefined, mode: undefined, addresses: [],
    // Unknown until read back: the kernel default is whatever this host's sysctl says.
    arpRetransMs: undefined,
    ...fields,
  };
}

/** Deletes every IPv4 address but `address`, and adds it when missing. */
export function addressFixes(scope: Scope, current: ObservedLink, address: string): KernelAction[] {
  return addressSetFixes(scope, current, [address]);
}

/** Deletes every IPv4 address not in `addresses`, and adds those missing. */
export function addressSetFixes(scope: Scope, current: ObservedLink, addresses: readonly string[]): KernelAction[] {
  const actions = current.addresses
    .filter((present) => !addresses.includes(present))
    .map((present) => ipAction(scope, 'addr', 'del', present, 'dev', current.name));
  for (const address of addresses.filter((wanted) => !current.addresses.includes(wanted))) {
    actions.push(ipAction(scope, 'addr', 'add', address, 'dev', current.name));
  }
  return actions;
}
