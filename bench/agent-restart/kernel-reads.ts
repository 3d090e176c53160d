import { isSandboxNetnsName, netnsRunPath, processRunner, vxlanName } from '../../agent/kernel';
import type { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { ipIn, netnsNames, type BenchHost } from '../netns/hosts';

/** The three reads of the host namespace any level-triggered pass starts from, in parallel. */
export function hostReads(netns: string): Promise<string[]> {
  return Promise.all([
    ipIn(netns, '-j', '-d', 'link', 'show'),
    processRunner.run(['bridge', '-n', netns, '-j', 'fdb', 'show']),
    ipIn(netns, '-j', 'neigh', 'show'),
  ]);
}

/**
 * One `ip -j addr show` in every sandbox, in parallel: the least a pass that checks sandboxes reads.
 * `ip -n` (how the agent enters a namespace) also unshares the mount namespace and remounts /sys,
 * which copies every mount, one per named namespace among them; `nsenter --net` only enters the
 * network namespace.
 */
export function sandboxReads(netns: readonly string[], enter: 'ip -n' | 'nsenter'): Promise<string[]> {
  const read = ['-j', '-d', 'addr', 'show'];
  return Promise.all(
    netns.map((name) => (enter === 'ip -n' ? ipIn(name, ...read) : processRunner.run(['nsenter', `--net=${netnsRunPath(name)}`, 'ip', ...read]))),
  );
}

/**
 * Deletes the FDB entry of the view's first remote endpoint, wherever its VXLAN device lives
 * (the host namespace, or a namespace of its own), and says which.
 */
export async function deleteOneFdbEntry(host: BenchHost, view: NodeView): Promise<string> {
  const endpoint = view.endpoints.find((candidate) => candidate.nodeId !== view.nodeId);
  const network = view.networks.find((candidate) => candidate.id === endpoint?.networkId);
  if (endpoint === undefined || network === undefined) throw new Error('the view has no remote endpoint');
  const device = vxlanName(network.vni);
  const netns = await namespaceWith(device, host.netns);
  await processRunner.run(['bridge', '-n', netns, 'fdb', 'del', endpoint.mac, 'dev', device, 'dst', endpoint.vtep, 'self']);
  return `${endpoint.mac} on ${device}`;
}

async function namespaceWith(device: string, hostNetns: string): Promise<string> {
  const others = await netnsNames();
  for (const netns of [hostNetns, ...others.filter((name) => name !== hostNetns && !isSandboxNetnsName(name))]) {
    const found = await ipIn(netns, 'link', 'show', 'dev', device).then(() => true, () => false);
    if (found) return netns;
  }
  throw new Error(`no namespace of this run holds ${device}`);
}
