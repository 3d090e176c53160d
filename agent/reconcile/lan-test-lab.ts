import type { EndpointView, NetworkView, NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { CommandRunner, IprouteKernel, ObservedLink, processRunner } from '../kernel';
import { parseLinks } from '../kernel/iproute-json';
import { Reconciler } from './reconciler';
import { PLAIN_ENDPOINT } from './test-fixtures';

/**
 * A node on a "physical LAN", for the macvlan/ipvlan tests (lan.kernel.test.ts on this host,
 * lan-uml-lab.ts inside user-mode-linux): the node's host namespace, whose `uplink` (a veth) is the
 * LAN parent, and a namespace at the veth's other end (`wire`) standing for the rest of the LAN,
 * with the LAN's gateway address (198.18.77.1) on it. The node's sandboxes are the reconciler's.
 *
 *   sandbox a ─┐ (macvlan / ipvlan on uplink)
 *   sandbox b ─┴─ host: uplink 198.18.77.2 ══ veth ══ lan: wire 198.18.77.1
 *                  uplink.42 (a VLAN parent) ─────────── wire.42 198.18.78.1 (where the guest has VLANs)
 */

export const LAN_SUBNET = '198.18.77';
export const LAN_GATEWAY = `${LAN_SUBNET}.1`;
export const HOST_LAN_ADDRESS = `${LAN_SUBNET}.2`;
export const VLAN_ID = 42;
export const VLAN_SUBNET = '198.18.78';
/** ipvlan l3 sandboxes' own subnet: the LAN routes it to the host, as an l3 deployment's router does. */
export const L3_SUBNET = '10.88.0';

export interface LanLab {
  owner: string;
  hostNetns: string;
  lanNetns: string;
  reconciler: Reconciler;
  /** The sandboxes' namespaces, by the letter the view names them with. */
  sandboxes: Record<'a' | 'b', string>;
}

export interface LanNetworkSpec {
  id: string;
  driver: 'macvlan' | 'ipvlan';
  mode: string;
  parent: string;
  /** "a.b.c": the network is a.b.c.0/24, its gateway a.b.c.1. */
  subnet: string;
  /** Endpoints by sandbox letter, each at subnet.N. */
  endpoints: { sandbox: 'a' | 'b'; host: number }[];
  internal?: boolean;
}

export async function makeLanLab(owner: string, linkKinds: readonly string[], runner: CommandRunner = processRunner): Promise<LanLab> {
  const lab: LanLab = {
    owner,
    hostNetns: `${owner}-h`,
    lanNetns: `${owner}-lan`,
    reconciler: new Reconciler({ underlayDevice: 'uplink', owner, linkKinds }, new IprouteKernel(runner, { hostNetns: `${owner}-h` })),
    sandboxes: { a: `trsb-${owner}-a`, b: `trsb-${owner}-b` },
  };
  const script = `set -e
ip netns add ${lab.hostNetns}
ip netns add ${lab.lanNetns}
ip -n ${lab.hostNetns} link add uplink type veth peer name wire netns ${lab.lanNetns}
ip -n ${lab.hostNetns} addr add ${HOST_LAN_ADDRESS}/24 dev uplink
ip -n ${lab.lanNetns} addr add ${LAN_GATEWAY}/24 dev wire
ip -n ${lab.hostNetns} link set dev uplink up
ip -n ${lab.hostNetns} link set dev lo up
ip -n ${lab.lanNetns} link set dev wire up
ip -n ${lab.lanNetns} link set dev lo up
ip -n ${lab.lanNetns} route add ${L3_SUBNET}.0/24 via ${HOST_LAN_ADDRESS}
`;
  await runner.run(['sh', '-c', script]);
  return lab;
}

/** The LAN's side of VLAN_ID, where the guest's kernel has VLAN devices. */
export async function addLanVlan(lab: LanLab, runner: CommandRunner = processRunner): Promise<void> {
  await runner.run(['sh', '-c', `set -e
ip -n ${lab.lanNetns} link add link wire name wire.${VLAN_ID} type vlan id ${VLAN_ID}
ip -n ${lab.lanNetns} addr add ${VLAN_SUBNET}.1/24 dev wire.${VLAN_ID}
ip -n ${lab.lanNetns} link set dev wire.${VLAN_ID} up`]);
}

/** Everything the lab made, by exact name, whether or not it got that far. */
export async function removeLanLab(lab: LanLab, runner: CommandRunner = processRunner): Promise<void> {
  await lab.reconciler.removeAll().catch(() => undefined);
  const names = [lab.sandboxes.a, lab.sandboxes.b, lab.hostNetns, lab.lanNetns];
  await runner.run(['sh', '-c', names.map((name) => `[ -e /run/netns/${name} ] && ip netns del ${name}`).join('\n') + '\nexit 0']);
}

export function endpointId(network: LanNetworkSpec, sandbox: 'a' | 'b'): string {
  return `ep${network.id}${sandbox}`;
}

export function endpointMac(host: number): string {
  return `02:42:c6:12:4d:${host.toString(16).padStart(2, '0')}`;
}

/** The node's view: sandboxes a and b, and the networks with their endpoints (interfaces eth0, eth1, … in the order given). */
export function lanView(lab: LanLab, networks: readonly LanNetworkSpec[], revision = 1): NodeView {
  const networkViews: NetworkView[] = networks.map((network) => ({
    id: network.id, name: network.id, vni: 0, subnet: `${network.subnet}.0/24`, gateway: `${network.subnet}.1`, mtu: 0,
    internal: network.internal ?? false, driver: network.driver, subnets: [{ subnet: `${network.subnet}.0/24`, gateway: `${network.subnet}.1` }],
    parent: network.parent, mode: network.mode, isolateSandboxes: false,
  }));
  const interfaces = { a: 0, b: 0 };
  const endpoints: EndpointView[] = networks.flatMap((network) =>
    network.endpoints.map(({ sandbox, host }) => ({
      id: endpointId(network, sandbox), networkId: network.id, sandboxId: `sandbox-${sandbox}`, nodeId: 'node-1', vtep: HOST_LAN_ADDRESS,
      ip: `${network.subnet}.${host}`, prefixLength: 24, mac: endpointMac(host), interfaceName: `eth${interfaces[sandbox]++}`,
      hostname: '', extraHosts: [], dns: [], publishedPorts: [], ...PLAIN_ENDPOINT,
    })),
  );
  return {
    revision, nodeId: 'node-1', nodeName: lab.hostNetns, advertiseAddr: HOST_LAN_ADDRESS, members: [], overlaySubnets: [], services: [],
    networks: networkViews,
    sandboxes: (['a', 'b'] as const).map((letter) => ({
      id: `sandbox-${letter}`, name: letter, netnsName: lab.sandboxes[letter], netnsPath: '', networkMode: '', sharesNetns: false,
    })),
    endpoints,
  };
}

/** A sandbox's link as iproute2 reports it; undefined when there is none by that name. */
export async function linkIn(netns: string, name: string, runner: CommandRunner = processRunner): Promise<ObservedLink | undefined> {
  const text = await runner.run(['ip', '-n', netns, '-j', '-d', 'addr', 'show']).catch(() => '');
  return parseLinks(text).find((link) => link.name === name);
}

export async function defaultRouteIn(netns: string, runner: CommandRunner = processRunner): Promise<string> {
  return (await runner.run(['ip', '-n', netns, 'route', 'show', 'default'])).trim();
}

/** Whether `fromNetns` gets an answer from `toIp` (a few tries: the first packet may go while ARP settles). */
export async function reaches(fromNetns: string, toIp: string, runner: CommandRunner = processRunner): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const answered = await runner.run(['ip', 'netns', 'exec', fromNetns, 'ping', '-c', '1', '-W', '1', toIp]).then(() => true, () => false);
    if (answered) return true;
  }
  return false;
}
