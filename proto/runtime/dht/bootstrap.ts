import { isIPv6 } from 'node:net';
import type { DhtAddress } from './dht-node';

/** The host of a HOST:PORT or [HOST]:PORT address. */
export function hostOf(address: string): string {
  const host = address.replace(/:\d+$/, '');
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * The managers' DHT nodes, from their API addresses (HOST:PORT, as agents dial them and as Raft
 * lists the members): each host once, at `port`, which all managers of a cluster share. IPv6
 * hosts are left out (the DHT speaks IPv4 only; a name is resolved by the DHT), and so is
 * `exceptHost` (a manager's own). Never hyperdht's default list, which points at public hosts.
 */
export function managerDhtNodes(apiAddresses: readonly string[], port: number, exceptHost?: string): DhtAddress[] {
  const hosts = new Set(apiAddresses.map(hostOf).filter((host) => host !== '' && host !== exceptHost && !isIPv6(host)));
  return [...hosts].map((host) => ({ host, port }));
}
