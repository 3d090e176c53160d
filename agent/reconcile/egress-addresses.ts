import { Cidr, formatIpv4, lastAddress, parseIpv4 } from '../../proto/runtime/ipv4';

/**
 * Egress addresses are the agent's own to hand out: the gateway subnet is local to the host, as
 * docker_gwbridge's is. An address a sandbox already holds is kept, so a restarted agent moves
 * nobody and published ports keep pointing where their connections go. Pure.
 */
export interface EgressAllocation {
  /** The host's own address on the gateway bridge: the subnet's first. */
  gateway: string;
  /** By sandbox namespace; a sandbox missing here found the subnet full. */
  sandboxes: Map<string, string>;
}

export function allocateEgress(subnet: Cidr, netnsNames: readonly string[], held: ReadonlyMap<string, string>): EgressAllocation {
  const gateway = subnet.network + 1;
  const first = gateway + 1;
  const last = lastAddress(subnet) - 1;
  const inRange = (address: number | undefined): address is number => address !== undefined && address >= first && address <= last;
  const taken = new Set<number>();
  const sandboxes = new Map<string, string>();
  for (const netns of netnsNames) {
    const address = parseIpv4(held.get(netns) ?? '');
    if (inRange(address) && !taken.has(address)) {
      taken.add(address);
      sandboxes.set(netns, formatIpv4(address));
    }
  }
  let next = first;
  for (const netns of netnsNames) {
    if (sandboxes.has(netns)) continue;
    while (next <= last && taken.has(next)) next += 1;
    if (next > last) break;
    taken.add(next);
    sandboxes.set(netns, formatIpv4(next));
  }
  return { gateway: formatIpv4(gateway), sandboxes };
}
