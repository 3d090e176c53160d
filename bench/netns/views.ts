import type { EndpointView, NetworkView, NodeView, SandboxView } from '../../proto/gen/trellis/v1/dispatcher';

/** A node of a synthesized cluster; its sandboxes' namespaces are named `${sandboxPrefix}-N` (a trsb- name). */
export interface ViewNode {
  id: string;
  address: string;
  sandboxPrefix: string;
}

export interface ClusterLayout {
  networks: number;
  /** Sandboxes each node has on each network, one endpoint each. */
  endpointsPerNode: number;
  firstVni: number;
}

/** Every endpoint's interface inside its sandbox. */
export const SANDBOX_INTERFACE = 'eth0';
const MAX_NETWORKS = 128 * 256;

/**
 * What a manager would send `self` for a cluster where every node has the same number of
 * sandboxes on every network: the networks, self's sandboxes, and every endpoint, local and
 * remote. Network n gets 10.(128 + n / 256).(n % 256).0/24 and VNI firstVni + n. Pure.
 */
export function clusterView(self: ViewNode, nodes: readonly ViewNode[], layout: ClusterLayout): NodeView {
  if (layout.networks > MAX_NETWORKS) throw new Error(`at most ${MAX_NETWORKS} networks`);
  if (nodes.length * layout.endpointsPerNode > 252) throw new Error('at most 252 endpoints per network (one /24 each)');
  const networks: NetworkView[] = [];
  const sandboxes: SandboxView[] = [];
  const endpoints: EndpointView[] = [];
  for (let n = 0; n < layout.networks; n++) {
    const prefix = `10.${128 + Math.floor(n / 256)}.${n % 256}`;
    const network = { id: `net-${n}`, name: `bench-${n}`, driver: '', subnets: [], parent: '', mode: '', isolateSandboxes: false, vni: layout.firstVni + n, subnet: `${prefix}.0/24`, gateway: `${prefix}.1`, mtu: 0, internal: false };
    networks.push(network);
    nodes.forEach((node, nodeIndex) => {
      for (let k = 0; k < layout.endpointsPerNode; k++) {
        const host = nodeIndex * layout.endpointsPerNode + k + 2;
        const seq = (n * nodes.length + nodeIndex) * layout.endpointsPerNode + k;
        const sandboxId = `sb-${seq}`;
        const ip = `${prefix}.${host}`;
        endpoints.push({
          id: `ep${String(seq).padStart(8, '0')}`, networkId: network.id, sandboxId, nodeId: node.id, vtep: node.address,
          ip, prefixLength: 24, mac: macOf(ip), interfaceName: SANDBOX_INTERFACE,
          // Named as the manager names them: the sandbox's name, also its hostname (what DNS answers).
          hostname: sandboxId, extraHosts: [], dns: [], publishedPorts: [], serviceId: '', draining: false, aliases: [], sandboxName: sandboxId,
        });
        if (node.id === self.id) sandboxes.push({ id: sandboxId, name: sandboxId, netnsName: `${node.sandboxPrefix}-${seq}`, networkMode: '', sharesNetns: false, netnsPath: '' });
      }
    });
  }
  const overlaySubnets = networks.map((network) => network.subnet);
  return { revision: 1, nodeId: self.id, nodeName: self.id, advertiseAddr: self.address, networks, sandboxes, endpoints, members: [], overlaySubnets, services: [] };
}

/** Docker's scheme: 02:42 and the IPv4 address. */
export function macOf(ip: string): string {
  return ['02', '42', ...ip.split('.').map((octet) => Number(octet).toString(16).padStart(2, '0'))].join(':');
}
