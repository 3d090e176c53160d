import { processRunner } from '../../agent/kernel';
import type { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { benchReconciler, UPLINK, type BenchHost } from '../netns/hosts';
import type { Teardown } from '../netns/teardown';
import { SANDBOX_INTERFACE, macOf } from '../netns/views';
import type { OverlayPath } from './paths';

/**
 * (d) macvlan: each host's Reconciler programs a macvlan network (mode bridge) on the host's own
 * underlay device, one sandbox on it with an address of the underlay subnet, so the two sandboxes
 * talk over the same veth as (a), with no overlay: the cost of the macvlan devices alone.
 */
export async function buildMacvlanPath(hosts: readonly [BenchHost, BenchHost], tag: string, teardown: Teardown): Promise<OverlayPath> {
  const sandboxes = hosts.map((host, index) => ({ host, netns: `trsb-trbn${tag}-m${index + 1}`, address: `198.19.0.${index + 10}` }));
  for (const { host, netns, address } of sandboxes) {
    const reconciler = benchReconciler(host, `trbn${tag}-m${netns.slice(-1)}`, processRunner, ['macvlan']);
    teardown.add(`removing the agent's macvlan sandbox on ${host.netns}`, () => reconciler.removeAll());
    const result = await reconciler.reconcile(macvlanView(host, netns, address));
    if (result.skipped.length > 0) throw new Error(`the reconciler skipped parts of the macvlan view: ${result.skipped.join('; ')}`);
  }
  const [near, far] = sandboxes.map(({ netns, address }) => ({ netns, address }));
  if (near === undefined || far === undefined) throw new Error('two hosts make two sandboxes');
  return { near, far };
}

function macvlanView(host: BenchHost, netns: string, address: string): NodeView {
  const subnet = '198.19.0.0/24';
  const network = {
    id: 'lan', name: 'lan', driver: 'macvlan', vni: 0, subnet, gateway: '198.19.0.254', subnets: [{ subnet, gateway: '198.19.0.254' }],
    parent: UPLINK, mode: 'bridge', isolateSandboxes: false, mtu: 0, internal: false,
  };
  return {
    revision: 1, nodeId: host.nodeId, nodeName: host.nodeId, advertiseAddr: host.address, members: [], overlaySubnets: [], services: [],
    networks: [network],
    sandboxes: [{ id: 'sb-lan', name: 'sb-lan', netnsName: netns, netnsPath: '', networkMode: '', sharesNetns: false }],
    endpoints: [{
      id: `eplan${netns.slice(-1)}`, networkId: network.id, sandboxId: 'sb-lan', nodeId: host.nodeId, vtep: host.address, ip: address, prefixLength: 24,
      mac: macOf(address), interfaceName: SANDBOX_INTERFACE, hostname: 'sb-lan', extraHosts: [], dns: [], publishedPorts: [], serviceId: '', draining: false,
      aliases: [], sandboxName: 'sb-lan',
    }],
  };
}
