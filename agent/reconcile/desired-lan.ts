import type { EndpointView, NetworkView } from '../../proto/gen/trellis/v1/dispatcher';
import { DesiredLanEndpoint, DesiredVlan, lanDeviceName } from '../kernel';
import { isInterfaceName } from './validate';

/*
 * The desired half of the macvlan and ipvlan drivers: networks local to one node whose sandboxes
 * sit straight on a host interface's LAN (the parent), each with an address of that LAN. Whether a
 * network can be programmed depends on the host (its interfaces, the link kinds its kernel can
 * make), so that is an input here: what the node lacks is skipped, saying why, never attempted.
 */

export type LanDriver = 'macvlan' | 'ipvlan';

const MODES: Record<LanDriver, readonly string[]> = { macvlan: ['bridge', 'private'], ipvlan: ['l2', 'l3'] };

/** 802.1q: `BASE.ID`, ID 1–4094. */
const VLAN_PARENT = /^(.+)\.([0-9]{1,4})$/;

export function isLanDriver(driver: string): driver is LanDriver {
  return driver === 'macvlan' || driver === 'ipvlan';
}

/** What the node offers the LAN drivers. */
export interface LanHost {
  /** Names of the host namespace's links. */
  interfaces: ReadonlySet<string>;
  /** Link kinds its kernel can create, of "macvlan", "ipvlan", "vlan" (see node-facts/probe.ts). */
  linkKinds: ReadonlySet<string>;
}

export const NO_LAN_HOST: LanHost = { interfaces: new Set(), linkKinds: new Set() };

/** A macvlan/ipvlan network as this node can program it, or why it cannot. */
export type LanNetwork =
  | { view: NetworkView; kind: LanDriver; mode: string; vlan: DesiredVlan | undefined; problem?: undefined }
  | { view: NetworkView; problem: string; kind?: undefined };

type Programmable = Extract<LanNetwork, { kind: LanDriver }>;

/**
 * Every macvlan and ipvlan network of the view as this node can program it, by id. A parent takes
 * devices of one kind, and ipvlan ones in one mode (the mode is its port's: a second mode would
 * switch the first network's sandboxes too): of networks that disagree on a parent, the first by
 * name has it. Pure.
 */
export function lanNetworks(networks: readonly NetworkView[], host: LanHost): Map<string, LanNetwork> {
  const byId = new Map<string, LanNetwork>();
  const parents = new Map<string, Programmable>();
  const sorted = networks.filter((network) => isLanDriver(network.driver)).sort((a, b) => a.name.localeCompare(b.name));
  for (const network of sorted) {
    const lan = lanNetwork(network, network.driver as LanDriver, host);
    const holder = lan.kind === undefined ? undefined : parents.get(network.parent);
    if (lan.kind !== undefined && holder !== undefined && (holder.kind !== lan.kind || (lan.kind === 'ipvlan' && holder.mode !== lan.mode))) {
      const held = `${holder.kind}${holder.kind === 'ipvlan' ? ` ${holder.mode}` : ''} network ${holder.view.name}`;
      const problem = `${lan.kind} network ${network.name}: parent ${network.parent} already carries the ${held}; a parent takes macvlan or ipvlan devices, not both, and ipvlan ones in one mode`;
      byId.set(network.id, { view: network, problem });
      continue;
    }
    if (lan.kind !== undefined && holder === undefined) parents.set(network.parent, lan);
    byId.set(network.id, lan);
  }
  return byId;
}

/** The VLAN parents the programmable networks need, each once. */
export function vlansOf(networks: Iterable<LanNetwork>): DesiredVlan[] {
  const vlans = new Map<string, DesiredVlan>();
  for (const network of networks) if (network.kind !== undefined && network.vlan !== undefined) vlans.set(network.vlan.name, network.vlan);
  return [...vlans.values()];
}

function lanNetwork(network: NetworkView, kind: LanDriver, host: LanHost): LanNetwork {
  const mode = network.mode || (MODES[kind][0] as string);
  const fail = (problem: string): LanNetwork => ({ view: network, problem: `${kind} network ${network.name}: ${problem}` });
  if (!MODES[kind].includes(mode)) return fail(`mode "${mode}" is not one of ${MODES[kind].join(', ')}`);
  if (!host.linkKinds.has(kind)) return fail(`the kernel of this node cannot create ${kind} devices ("Unknown device type")`);
  const { parent } = network;
  if (!isInterfaceName(parent)) return fail(`parent "${parent}" is not an interface name`);
  const vlan = vlanOf(parent);
  if (!host.interfaces.has(parent)) {
    if (vlan === undefined) return fail(`parent ${parent} does not exist on this node`);
    if (!host.interfaces.has(vlan.base)) return fail(`parent ${parent}: its base interface ${vlan.base} does not exist on this node`);
    if (!host.linkKinds.has('vlan')) return fail(`parent ${parent} does not exist, and the kernel of this node cannot create VLAN devices ("Unknown device type")`);
  }
  return { view: network, kind, mode, vlan };
}

/** The 802.1q device a parent named `BASE.ID` is; undefined for any other name. */
function vlanOf(parent: string): DesiredVlan | undefined {
  const match = VLAN_PARENT.exec(parent);
  const id = Number(match?.[2]);
  if (match?.[1] === undefined || !(id >= 1 && id <= 4094)) return undefined;
  return { name: parent, base: match[1], id };
}

/** Host interfaces whose presence decides what lanNetwork() says: each LAN network's parent and a VLAN parent's base. */
export function lanHostInterfaces(networks: readonly NetworkView[]): string[] {
  return networks
    .filter((network) => isLanDriver(network.driver))
    .flatMap((network) => [network.parent, vlanOf(network.parent)?.base ?? ''])
    .filter(isInterfaceName);
}

export function lanEndpoint(endpoint: EndpointView, network: Programmable, netns: string): DesiredLanEndpoint {
  return {
    hostName: lanDeviceName(endpoint.id),
    kind: network.kind,
    mode: network.mode,
    parent: network.view.parent,
    netns,
    interfaceName: endpoint.interfaceName,
    mac: network.kind === 'macvlan' ? endpoint.mac.toLowerCase() : undefined,
    address: `${endpoint.ip}/${endpoint.prefixLength}`,
    mtu: network.view.mtu || undefined,
  };
}
