import { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { DesiredKernel, KernelAction, ObservedKernel, ObservedLink, ObservedSandbox, describeAction } from '../kernel';
import { desired } from './desired';
import { OWNER_TAG_PREFIX } from './plan';
import { sampleView } from './test-fixtures';

/** Builders for plan() tests: observed kernels and desired states made from node views. */

export const OWNER = 'node-a';

export function link(name: string, fields: Partial<ObservedLink> = {}): ObservedLink {
  return {
    name, kind: '', ifindex: -1, peerIfindex: undefined, mtu: 1450, up: true, mac: '02:00:00:00:00:01',
    master: undefined, alias: undefined, vxlan: undefined, addresses: [], arpRetransMs: undefined, ...fields,
  };
}

export const UNDERLAY = link('uplink', { kind: 'veth', ifindex: 2, peerIfindex: 7, mtu: 1500 });

/** The interface a container runtime put into a namespace it made, its peer elsewhere. */
export const FOREIGN_VETH = link('ext0', { kind: 'veth', ifindex: 2, peerIfindex: 900 });

/** What a kernel programmed exactly as `want` says reads back as. */
export function programmed(want: DesiredKernel, ownerTag = want.ownerTag): ObservedKernel {
  let nextIfindex = 10;
  const hostLinks: ObservedLink[] = [UNDERLAY];
  for (const bridge of want.bridges) hostLinks.push(link(bridge.name, { kind: 'bridge', ifindex: nextIfindex++, mtu: bridge.mtu }));
  for (const vxlan of want.vxlans) {
    const { name, mtu, bridge, vni, local, port, underlayDevice, learning, proxy } = vxlan;
    hostLinks.push(link(name, {
      kind: 'vxlan', ifindex: nextIfindex++, mtu, master: bridge,
      vxlan: { vni, local, port, underlayDevice, learning, proxy },
    }));
  }
  const sandboxes: ObservedSandbox[] = want.sandboxes.map((sandbox) => ({
    netns: sandbox.netns,
    // A namespace someone else named keeps its untagged lo and its maker's own interface.
    links: sandbox.origin.kind === 'named'
      ? [link('lo', { ifindex: 1, mtu: 65536 }), FOREIGN_VETH]
      : [link('lo', { kind: '', ifindex: 1, mtu: 65536, alias: `${OWNER_TAG_PREFIX}${ownerTag}` })],
    defaultRoute: sandbox.defaultRoute,
  }));
  for (const endpoint of want.endpoints) {
    const sandbox = sandboxes.find((s) => s.netns === endpoint.netns);
    if (sandbox === undefined) throw new Error('endpoint without sandbox');
    const hostIfindex = nextIfindex++;
    const peerIfindex = sandbox.links.length + 1;
    hostLinks.push(link(endpoint.hostName, {
      kind: 'veth', ifindex: hostIfindex, peerIfindex, mtu: endpoint.mtu, master: endpoint.bridge,
    }));
    sandbox.links.push(link(endpoint.interfaceName, {
      kind: 'veth', ifindex: peerIfindex, peerIfindex: hostIfindex, mtu: endpoint.mtu, mac: endpoint.mac,
      addresses: [endpoint.address], arpRetransMs: endpoint.arpRetransMs,
    }));
  }
  return {
    hostLinks,
    sandboxes,
    brokenSandboxes: [],
    netnsIds: {},
    agentNetnsIds: [],
    fdb: want.fdb.map((entry) => ({ ...entry, permanent: true })),
    neighbours: want.neighbours.map((entry) => ({ ...entry, permanent: true })),
  };
}

export const NOTHING_OBSERVED: ObservedKernel = {
  hostLinks: [UNDERLAY], sandboxes: [], brokenSandboxes: [], netnsIds: {}, agentNetnsIds: [], fdb: [], neighbours: [],
};

export const view = sampleView;

export function want(nodeView: NodeView = view()): DesiredKernel {
  return desired(nodeView, { underlayDevice: 'uplink', underlayMtu: 1500, ownerTag: OWNER }).kernel;
}

export const EMPTY: DesiredKernel = want(view({ networks: [], sandboxes: [], endpoints: [] }));

export function commands(actions: KernelAction[]): string[] {
  return actions.map(describeAction);
}
