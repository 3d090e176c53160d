import type { DhtAddress } from '../../proto/runtime/dht/dht-node';
import type { Reservation } from '../store';

/*
 * The managers' own ports, which no sandbox may publish either: the replicated state does not
 * know them (each manager knows its metrics and gossip DHT ports, and the members' addresses come
 * with Raft's membership), so the API refuses them before proposing, in the store's words. They are refused
 * on every node: which nodes share a host with a manager is not known.
 */

/**
 * Each member's gRPC port (Control, Dispatcher and Raft share it), this manager's metrics port,
 * and its gossip DHT port (all managers share it; 4790 is a cluster port already, another one
 * given with --gossip-dht-port is not).
 */
export function managerReservations(memberAddresses: readonly string[], metricsAddress: string | undefined, gossipDht?: DhtAddress): Reservation[] {
  const reservations: Reservation[] = [];
  for (const address of memberAddresses) {
    const port = portOf(address);
    if (port !== undefined) reservations.push({ protocol: 'tcp', port, is: `the port of manager ${address} (its gRPC API and Raft)` });
  }
  const metricsPort = metricsAddress === undefined ? undefined : portOf(metricsAddress);
  if (metricsPort !== undefined) reservations.push({ protocol: 'tcp', port: metricsPort, is: `the metrics port of manager ${metricsAddress}` });
  if (gossipDht !== undefined) reservations.push({ protocol: 'udp', port: gossipDht.port, is: `the gossip DHT port of the managers (manager ${gossipDht.host}'s bootstrap node listens on it)` });
  return reservations;
}

function portOf(address: string): number | undefined {
  const match = /:(\d{1,5})$/.exec(address);
  return match ? Number(match[1]) : undefined;
}
