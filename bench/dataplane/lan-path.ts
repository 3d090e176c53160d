import { processRunner } from '../../agent/kernel';
import type { NetworkView, NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { benchReconciler, UPLINK, type BenchHost } from '../netns/hosts';
import type { Teardown } from '../netns/teardown';
import { SANDBOX_INTERFACE, macOf } from '../netns/views';
import type { Endpoint } from './iperf';
import type { OverlayPath } from './paths';

/** One sandbox on a network local to a host, as the host's Reconciler programs it. */
interface LocalSandbox {
  host: BenchHost;
  /** Distinguishes this sandbox's owner tag and names from the run's others. */
  label: string;
  network: NetworkView;
  address: string;
}

/**
 * (d) macvlan: each host's Reconciler programs a macvlan network (mode bridge) on the host's own
 * underlay device, one sandbox on it with an address of the underlay subnet, so the two sandboxes
 * talk over the same veth as (a), with no overlay: the cost of the macvlan devices alone.
 */
export async function buildMacvlanPath(hosts: readonly [BenchHost, BenchHost], tag: string, teardown: Teardown): Promise<OverlayPath> {
  const subnet = '198.19.0.0/24';
  const network = localNetwork('lan', 'macvlan', subnet, '198.19.0.254', { parent: UPLINK, mode: 'bridge' });
  const [near, far] = await Promise.all(
    hosts.map((host, index) => programSandbox({ host, label: `m${index + 1}`, network, address: `198.19.0.${index + 10}` }, tag, teardown)),
  );
  if (near === undefined || far === undefined) throw new Error('two hosts make two sandboxes');
  return { near, far };
}

/**
 * (e) bridge: the near host's Reconciler programs a bridge network (Docker's user-defined bridge)
 * with one sandbox, which reaches the far host's underlay address through the bridge, the host's
 * routing and its masquerade: the cost of a bridge network's way out, against (a).
 */
export async function buildBridgePath(hosts: readonly [BenchHost, BenchHost], tag: string, teardown: Teardown): Promise<OverlayPath> {
  const network = localNetwork('br', 'bridge', '10.126.0.0/24', '10.126.0.1', {});
  const near = await programSandbox({ host: hosts[0], label: 'b1', network, address: '10.126.0.2' }, tag, teardown);
  return { near, far: { netns: hosts[1].netns, address: hosts[1].address } };
}

function localNetwork(id: string, driver: string, subnet: string, gateway: string, parts: { parent?: string; mode?: string }): NetworkView {
  return {
    id, name: id, driver, vni: 0, subnet, gateway, subnets: [{ subnet, gateway }],
    parent: parts.parent ?? '', mode: parts.mode ?? '', isolateSandboxes: false, mtu: 0, internal: false,
  };
}

async function programSandbox(sandbox: LocalSandbox, tag: string, teardown: Teardown): Promise<Endpoint> {
  const { host, label, address } = sandbox;
  const netns = `trsb-trbn${tag}-${label}`;
  const reconciler = benchReconciler(host, `trbn${tag}-${label}`, processRunner, ['macvlan']);
  teardown.add(`removing the agent's ${sandbox.network.driver} sandbox on ${host.netns}`, () => reconciler.removeAll());
  const result = await reconciler.reconcile(singleSandboxView(sandbox, netns));
  if (result.skipped.length > 0) throw new Error(`the reconciler skipped parts of the ${sandbox.network.driver} view: ${result.skipped.join('; ')}`);
  return { netns, address };
}

function singleSandboxView({ host, label, network, address }: LocalSandbox, netns: string): NodeView {
  const sandboxId = `sb-${label}`;
  return {
    revision: 1, nodeId: host.nodeId, nodeName: host.nodeId, advertiseAddr: host.address, members: [], overlaySubnets: [], services: [],
    networks: [network],
    sandboxes: [{ id: sandboxId, name: sandboxId, netnsName: netns, netnsPath: '', networkMode: '', sharesNetns: false }],
    endpoints: [{
      id: `ep${label}`, networkId: network.id, sandboxId, nodeId: host.nodeId, vtep: host.address, ip: address, prefixLength: 24,
      mac: macOf(address), interfaceName: SANDBOX_INTERFACE, hostname: sandboxId, extraHosts: [], dns: [], publishedPorts: [], serviceId: '', draining: false,
      aliases: [], sandboxName: sandboxId,
    }],
  };
}
