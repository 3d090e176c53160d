import type { NodeView } from '../../proto/gen/trellis/v1/dispatcher';

/** A node "A" with one sandbox on network n1, and one remote endpoint on node "B". */
export const network = { id: 'n1', name: 'front', driver: '', subnets: [], parent: '', mode: '', isolateSandboxes: false, vni: 100, subnet: '10.231.1.0/24', gateway: '10.231.1.1', mtu: 0, internal: false };
export const sandbox = { id: 's1', name: 'web', netnsName: 'trsb-web', networkMode: '', sharesNetns: false, netnsPath: '' };
export const local = {
  id: 'e1aaaaaaaaaaaa', networkId: 'n1', sandboxId: 's1', nodeId: 'A', vtep: '198.18.0.1',
  ip: '10.231.1.2', prefixLength: 24, mac: '02:42:0a:e7:01:02', interfaceName: 'eth0',
  hostname: '', extraHosts: [] as string[], dns: [] as string[],
  publishedPorts: [] as { protocol: string; hostPort: number; port: number }[],
  serviceId: '', draining: false, aliases: [] as string[], sandboxName: '',
};
export const remote = { ...local, id: 'e2bbbbbbbbbbbb', sandboxId: 's9', nodeId: 'B', vtep: '198.18.0.2', ip: '10.231.1.3', mac: '02:42:0a:e7:01:03' };

export function sampleView(parts: Partial<NodeView> = {}): NodeView {
  return {
    revision: 1, nodeId: 'A', nodeName: 'a', advertiseAddr: '198.18.0.1',
    networks: [network], sandboxes: [sandbox], endpoints: [local, remote], members: [], overlaySubnets: [network.subnet], services: [], ...parts,
  };
}

/** The EndpointView fields of services and DNS, for fixtures of an endpoint that is no service's backend. */
export const PLAIN_ENDPOINT = { serviceId: '', draining: false, aliases: [] as string[], sandboxName: '' };
