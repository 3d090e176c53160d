import { parseCidr, parseIpv4 } from '../../proto/runtime/ipv4';

const IN_ADDR_ARPA = '.in-addr.arpa';

/** The IPv4 address of a full reverse name ("4.3.2.1.in-addr.arpa" → 1.2.3.4), else undefined. */
export function reverseLookupAddress(name: string): number | undefined {
  if (!name.endsWith(IN_ADDR_ARPA)) return undefined;
  const labels = name.slice(0, -IN_ADDR_ARPA.length).split('.');
  return labels.length === 4 ? parseIpv4(labels.reverse().join('.')) : undefined;
}

/**
 * The cluster's overlay subnets, asked whether they hold an address with one set lookup per
 * distinct prefix length (at most 33) rather than a pass over every subnet.
 */
export class OverlaySubnets {
  private readonly byPrefix = new Map<number, Set<number>>();

  constructor(subnets: readonly string[]) {
    for (const subnet of subnets) {
      const parsed = parseCidr(subnet);
      if (!parsed.ok) continue;
      const networks = this.byPrefix.get(parsed.cidr.prefixLength) ?? new Set<number>();
      networks.add(parsed.cidr.network);
      this.byPrefix.set(parsed.cidr.prefixLength, networks);
    }
  }

  contains(address: number): boolean {
    for (const [prefixLength, networks] of this.byPrefix) {
      const network = prefixLength === 0 ? 0 : (address & (0xffffffff << (32 - prefixLength))) >>> 0;
      if (networks.has(network)) return true;
    }
    return false;
  }
}
