import { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { renderTable } from '../firewall';
import {
  DesiredKernel,
  KernelAction,
  ObservedKernel,
  ObservedLink,
  ObservedNetwork,
  ObservedSandbox,
  describeAction,
  networkNetnsName,
} from '../kernel';
import { DEFAULT_GATEWAY_SUBNET, desired } from './desired';
import { ATTACHED_TAG_PREFIX, OWNER_TAG_PREFIX } from './plan';
import { sampleView } from './test-fixtures';

/** Builders for plan() tests: observed kernels and desired states made from node views. */

export const OWNER = 'node-a';
/** The namespace of the sample network (VNI 100). */
export const NETWORK_NETNS = networkNetnsName(OWNER, 100);

export function link(name: string, fields: Partial<ObservedLink> = {}): ObservedLink {
  return {
    name, kind: '', ifindex: -1, peerIfindex: undefined, mtu: 1450, up: true, mac: '02:00:00:00:00:01',
    master: undefined, isolated: undefined, alias: undefined, vxlan: undefined, mode: undefined, addresses: [], arpRetransMs: undefined, ...fields,
  };
}

export const UNDERLAY = link('uplink', { kind: 'veth', ifindex: 2, peerIfindex: 7, mtu: 1500 });

/** The interface a container runtime put into a namespace it made, its peer elsewhere. */
export const FOREIGN_VETH = link('ext0', { kind: 'veth', ifindex: 2, peerIfindex: 900 });

const LOOPBACK = link('lo', { ifindex: 1, mtu: 65536 });

/**
 * What a kernel programmed exactly as `want` says reads back as. Ifindexes count per namespace
 * from 2, as the kernel's do, so pairs repeat across namespaces.
 */
export function programmed(want: DesiredKernel, ownerTag = want.ownerTag): ObservedKernel {
  const nextIfindex = new Map<string, number>();
  const ifindexIn = (netns: string) => {
    const ifindex = nextIfindex.get(netns) ?? 10;
    nextIfindex.set(netns, ifindex + 1);
    return ifindex;
  };
  const hostLinks: ObservedLink[] = [UNDERLAY];
  const { gateway } = want;
  if (gateway !== undefined) {
    hostLinks.push(link(gateway.bridge, { kind: 'bridge', ifindex: ifindexIn(''), mtu: gateway.mtu, addresses: [gateway.address] }));
  }
  for (const bridge of want.localBridges) {
    hostLinks.push(link(bridge.name, { kind: 'bridge', ifindex: ifindexIn(''), mtu: bridge.mtu, addresses: bridge.addresses }));
  }
  const networks: ObservedNetwork[] = want.networks.map(({ netns, bridge, vxlan, fdb, neighbours }) => {
    const { vni, local, port, learning, proxy } = vxlan;
    return {
      netns,
      links: [
        LOOPBACK,
        link(bridge.name, { kind: 'bridge', ifindex: ifindexIn(netns), mtu: bridge.mtu }),
        link(vxlan.name, {
          kind: 'vxlan', ifindex: ifindexIn(netns), mtu: vxlan.mtu, master: bridge.name,
          vxlan: { vni, local, port, underlayDevice: `if${UNDERLAY.ifindex}`, learning, proxy },
        }),
      ],
      fdb: fdb.map((entry) => ({ ...entry, permanent: true })),
      neighbours: neighbours.map((entry) => ({ ...entry, permanent: true })),
      bridgeNetfilter: false,
    };
  });
  const sandboxes: ObservedSandbox[] = want.sandboxes.map((sandbox) => ({
    netns: sandbox.netns,
    // A namespace someone else named keeps its untagged lo and its maker's own interface.
    links: sandbox.origin.kind === 'named'
      ? [LOOPBACK, FOREIGN_VETH]
      : [link('lo', { ifindex: 1, mtu: 65536, alias: `${sandbox.origin.kind === 'attached' ? ATTACHED_TAG_PREFIX : OWNER_TAG_PREFIX}${ownerTag}` })],
    defaultRoute: sandbox.defaultRoute,
  }));
  const pair = (hostSide: ObservedLink, hostLinksOfNetns: ObservedLink[], netns: string, sandboxSide: Partial<ObservedLink> & { name: string }) => {
    const sandbox = sandboxes.find((s) => s.netns === netns);
    if (sandbox === undefined) throw new Error('veth without sandbox');
    const peerIfindex = ifindexIn(netns);
    hostLinksOfNetns.push({ ...hostSide, kind: 'veth', peerIfindex });
    sandbox.links.push(link(sandboxSide.name, {
      ...sandboxSide, kind: 'veth', ifindex: peerIfindex, peerIfindex: hostSide.ifindex, alias: hostSide.name,
    }));
  };
  for (const endpoint of want.endpoints) {
    const network = networks.find((n) => n.netns === endpoint.networkNetns);
    // A bridge network's host end is in the host namespace.
    const { netns: hostNetns, links } = endpoint.networkNetns === undefined ? { netns: '', links: hostLinks } : network ?? { netns: '', links: undefined };
    if (links === undefined) throw new Error('endpoint without network');
    const hostSide = link(endpoint.hostName, { ifindex: ifindexIn(hostNetns), mtu: endpoint.mtu, master: endpoint.bridge, isolated: endpoint.isolated });
    pair(hostSide, links, endpoint.netns, {
      name: endpoint.interfaceName, mtu: endpoint.mtu, mac: endpoint.mac, addresses: [endpoint.address], arpRetransMs: endpoint.arpRetransMs,
    });
  }
  for (const { netns, egress } of want.sandboxes) {
    if (egress === undefined || gateway === undefined) continue;
    const hostSide = link(egress.hostName, { ifindex: ifindexIn(''), mtu: egress.mtu, master: gateway.bridge, isolated: true });
    pair(hostSide, hostLinks, netns, { name: egress.interfaceName, mtu: egress.mtu, addresses: [egress.address] });
  }
  const { firewall } = want;
  return {
    hostLinks,
    networks,
    brokenNetworks: [],
    sandboxes,
    brokenSandboxes: [],
    netnsIds: {},
    agentNetnsIds: [],
    ipForwarding: gateway !== undefined || want.localBridges.length > 0,
    firewall: firewall && renderTable(firewall),
  };
}

/** The write that turns bridge netfilter off in a network's namespace, as commands() prints it after `ip netns exec NS`. */
export const BRIDGE_NETFILTER_OFF =
  'sysctl -w net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0';

export const NOTHING_OBSERVED: ObservedKernel = {
  hostLinks: [UNDERLAY], networks: [], brokenNetworks: [], sandboxes: [], brokenSandboxes: [],
  netnsIds: {}, agentNetnsIds: [], ipForwarding: false, firewall: undefined,
};

export const view = sampleView;

export function want(nodeView: NodeView = view(), held: ReadonlyMap<string, string> = new Map()): DesiredKernel {
  return desired(nodeView, {
    underlayDevice: 'uplink', underlayMtu: 1500, ownerTag: OWNER, gatewaySubnet: DEFAULT_GATEWAY_SUBNET, heldEgressAddresses: held,
  }).kernel;
}

export const EMPTY: DesiredKernel = want(view({ networks: [], sandboxes: [], endpoints: [] }));

export function commands(actions: KernelAction[]): string[] {
  return actions.map(describeAction);
}
