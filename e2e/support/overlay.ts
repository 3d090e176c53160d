import * as fs from 'node:fs';
import { FIREWALL_TABLE, NETNS_RUN_DIR, isOwnedLinkName, netnsRunPath, networkNetnsName, networkNetnsPrefix } from '../../agent/kernel/names';
import type { Endpoint, Network, Sandbox } from '../../proto/gen/trellis/v1/types';
import { eventually, kernelJson, onHost, trellisJson, type LabHost } from './lab-driver';

/** What scenario tests ask of sandboxes and the kernel objects Trellis makes, through the CLI and iproute2. */

export interface KernelLink {
  /** The namespace the link lives in: ifindexes repeat across namespaces. */
  namespace: string;
  /** The namespace's identity (its nsfs inode): a namespace deleted and made again has another. */
  namespaceInode: number;
  ifname: string;
  ifindex: number;
}

/** The name `ip -n` takes for a sandbox's namespace, from its path under /run/netns. */
export function namespaceName(sandbox: Sandbox): string {
  return sandbox.netns.replace(`${NETNS_RUN_DIR}/`, '');
}

/** A sandbox's namespace name under /run/netns, as `sandbox inspect` reports it. */
export function sandboxNamespace(name: string): string {
  return namespaceName(trellisJson<Sandbox>('m1', ['sandbox', 'inspect', name]));
}

export function pingFromSandbox(host: string, sandbox: string, target: string, extra: string[] = ['-c', '1', '-W', '1']): boolean {
  return pingFromNamespace(host, sandboxNamespace(sandbox), target, extra);
}

/** A ping from a namespace named beforehand: with every manager down, the CLI cannot name it. */
export function pingFromNamespace(host: string, namespace: string, target: string, extra: string[] = ['-c', '1', '-W', '1']): boolean {
  return onHost(host, ['ip', 'netns', 'exec', namespace, 'ping', '-n', '-q', ...extra, target]).code === 0;
}

/** The namespaces the host's agent keeps its networks in (named with a digest of its owner tag, in the lab its address). */
export function networkNamespaces(host: LabHost): string[] {
  const prefix = networkNetnsPrefix(host.address);
  return kernelJson<Array<{ name: string }>>(host.name, ['ip', 'netns', 'list'])
    .map((namespace) => namespace.name)
    .filter((name) => name.startsWith(prefix))
    .sort();
}

/** The namespace holding a network's bridge, VXLAN device, endpoints' host ends, FDB and neighbour entries on a host. */
export function networkNamespace(host: LabHost, network: string): string {
  return networkNetnsName(host.address, trellisJson<Network>('m1', ['network', 'inspect', network]).vni);
}

/**
 * Trellis's links on a host: those with its names in the host namespace (the gateway bridge, its
 * veths, leftovers of the other kinds) and every link of its agent's network namespaces but lo.
 */
export function trellisLinks(host: LabHost): KernelLink[] {
  const linksOf = (namespace: string, command: string[]): KernelLink[] => {
    const namespaceInode = fs.statSync(netnsRunPath(namespace)).ino;
    return kernelJson<Array<{ ifname: string; ifindex: number }>>(host.name, command).map(({ ifname, ifindex }) => ({
      namespace,
      namespaceInode,
      ifname,
      ifindex,
    }));
  };
  const own = linksOf(host.namespace, ['ip', 'link', 'show']).filter((link) => isOwnedLinkName(link.ifname));
  const inNetworks = networkNamespaces(host).flatMap((namespace) =>
    linksOf(namespace, ['ip', '-n', namespace, 'link', 'show']).filter((link) => link.ifname !== 'lo'),
  );
  return [...own, ...inNetworks];
}

/** Whether the host namespace holds the nftables table the agent owns (masquerade, isolation, published ports). */
export function hasFirewallTable(host: LabHost): boolean {
  const listing = kernelJson<{ nftables: Array<{ table?: { family: string; name: string } }> }>(host.name, ['nft', 'list', 'tables']);
  return listing.nftables.some(({ table }) => table?.family === 'ip' && table.name === FIREWALL_TABLE);
}

/** What is left of Trellis on a host once nothing there needs it. */
export interface TrellisTrace {
  links: KernelLink[];
  networkNamespaces: string[];
  firewallTable: boolean;
}

const NO_TRACE: TrellisTrace = { links: [], networkNamespaces: [], firewallTable: false };

export function trellisTrace(host: LabHost): TrellisTrace {
  return { links: trellisLinks(host), networkNamespaces: networkNamespaces(host), firewallTable: hasFirewallTable(host) };
}

/** Waits for the host's agent to remove everything of Trellis's; when it does not, the failure shows what is left. */
export async function expectNoTraceOn(host: LabHost, boundMs?: number): Promise<void> {
  const clean = () => JSON.stringify(trellisTrace(host)) === JSON.stringify(NO_TRACE);
  await eventually(clean, `nothing of Trellis left on ${host.name}`, boundMs).catch(() => undefined);
  expect(trellisTrace(host)).toEqual(NO_TRACE);
}

export function endpointOf(sandbox: string, network: string): Endpoint {
  const endpoint = trellisJson<Sandbox>('m1', ['sandbox', 'inspect', sandbox]).endpoints.find((e) => e.networkName === network);
  if (!endpoint) throw new Error(`${sandbox} has no endpoint on ${network}`);
  return endpoint;
}

export function ipOf(sandbox: string, network: string): string {
  return endpointOf(sandbox, network).ip;
}
