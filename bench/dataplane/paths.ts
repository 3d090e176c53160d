import { BRIDGE_NETFILTER_SYSCTLS, processRunner } from '../../agent/kernel';
import { VXLAN_OVERHEAD, VXLAN_PORT } from '../../agent/reconcile';
import { BENCH_PREFIX, UPLINK, benchReconciler, createNetns, execIn, ipIn, type BenchHost } from '../netns/hosts';
import type { Teardown } from '../netns/teardown';
import { SANDBOX_INTERFACE, clusterView, type ViewNode } from '../netns/views';
import type { Endpoint } from './iperf';

/** A measured overlay path: a sandbox on each host. */
export interface OverlayPath {
  near: Endpoint;
  far: Endpoint;
}

const HANDBUILT_VNI = 4001;
const TRELLIS_VNI = 7001;

/**
 * (b) VXLAN by hand with what the agent programs: per host a namespace for the network holding a
 * bridge and a VXLAN device created from the host namespace into it (nolearning proxy, dstport
 * 4789, local = the host's underlay address, MTU underlay − 50, bridge netfilter off), a sandbox namespace joined to the
 * bridge by a veth, and a static FDB entry plus a permanent neighbour entry for the other host's
 * sandbox.
 */
export async function buildHandbuiltPath(hosts: readonly [BenchHost, BenchHost], tag: string, underlayMtu: number, teardown: Teardown): Promise<OverlayPath> {
  const mtu = `${underlayMtu - VXLAN_OVERHEAD}`;
  const sandboxes = hosts.map((host, index) => ({
    host,
    netns: `${BENCH_PREFIX}${tag}-hb${index + 1}`,
    network: `${BENCH_PREFIX}${tag}-hn${index + 1}`,
    address: `10.127.0.${index + 2}`,
    mac: `02:42:0a:7f:00:0${index + 2}`,
  }));
  for (const { host, netns, network, address, mac } of sandboxes) {
    await createNetns(netns, teardown);
    await createNetns(network, teardown);
    await execIn(network, ['sysctl', '-q', '-e', '-w', ...BRIDGE_NETFILTER_SYSCTLS.map((key) => `${key}=0`)]);
    await ipIn(host.netns, 'link', 'add', 'name', 'trbn-vx', 'netns', network, 'mtu', mtu,
      'type', 'vxlan', 'id', `${HANDBUILT_VNI}`, 'dstport', `${VXLAN_PORT}`, 'local', host.address, 'dev', UPLINK, 'nolearning', 'proxy');
    await ipIn(network, 'link', 'add', 'name', 'trbn-br', 'mtu', mtu, 'up', 'type', 'bridge');
    await ipIn(network, 'link', 'set', 'dev', 'trbn-vx', 'master', 'trbn-br', 'up');
    await ipIn(network, 'link', 'add', 'name', 'trbn-ve', 'mtu', mtu, 'master', 'trbn-br', 'up',
      'type', 'veth', 'peer', 'name', SANDBOX_INTERFACE, 'netns', netns, 'address', mac, 'mtu', mtu);
    await ipIn(netns, 'addr', 'add', `${address}/24`, 'dev', SANDBOX_INTERFACE);
    await ipIn(netns, 'link', 'set', 'dev', SANDBOX_INTERFACE, 'up');
  }
  for (const { host, network } of sandboxes) {
    for (const other of sandboxes.filter((sandbox) => sandbox.host !== host)) {
      await processRunner.run(['bridge', '-n', network, 'fdb', 'replace', other.mac, 'dev', 'trbn-vx', 'dst', other.host.address, 'self', 'permanent']);
      await ipIn(network, 'neigh', 'replace', other.address, 'lladdr', other.mac, 'dev', 'trbn-vx', 'nud', 'permanent');
    }
  }
  const [near, far] = sandboxes.map(({ netns, address }) => ({ netns, address }));
  if (near === undefined || far === undefined) throw new Error('two hosts make two sandboxes');
  return { near, far };
}

/**
 * (c) The agent's own code: each host's Reconciler programs that host's view of one network
 * with a sandbox on each host, as the manager would send it. The owner tag keeps removeAll to
 * this run's sandboxes.
 */
export async function buildTrellisPath(hosts: readonly [BenchHost, BenchHost], tag: string, teardown: Teardown): Promise<OverlayPath> {
  const nodes: ViewNode[] = hosts.map((host, index) => ({ id: host.nodeId, address: host.address, sandboxPrefix: `trsb-trbn${tag}-h${index + 1}` }));
  const sandboxes: Endpoint[] = [];
  for (const [index, node] of nodes.entries()) {
    const host = hosts[index];
    const reconciler = benchReconciler(host, `trbn${tag}-h${index + 1}`);
    teardown.add(`removing the agent's objects on ${host.netns}`, () => reconciler.removeAll());
    const view = clusterView(node, nodes, { networks: 1, endpointsPerNode: 1, firstVni: TRELLIS_VNI });
    const result = await reconciler.reconcile(view);
    if (result.skipped.length > 0) throw new Error(`the reconciler skipped parts of the view: ${result.skipped.join('; ')}`);
    const sandbox = view.sandboxes[0];
    const endpoint = view.endpoints.find((candidate) => candidate.sandboxId === sandbox?.id);
    if (sandbox === undefined || endpoint === undefined) throw new Error('the view has no local sandbox');
    sandboxes.push({ netns: sandbox.netnsName, address: endpoint.ip });
  }
  const [near, far] = sandboxes;
  if (near === undefined || far === undefined) throw new Error('two hosts make two sandboxes');
  return { near, far };
}
