import type { Reservation } from '../store';

/*
 * The managers' own ports, which no sandbox may publish either: the replicated state does not
 * know them (each manager knows its metrics port, and the members' addresses come with Raft's
 * membership), so the API refuses them before proposing, in the store's words. They are refused
 * on every node: which nodes share a host with a manager is not known.
 */

/** Each member's gRPC port (Control, Dispatcher and Raft share it) and this manager's metrics port. */
export function managerReservations(memberAddresses: readonly string[], metricsAddress: string | undefined): Reservation[] {
  const reservations: Reservation[] = [];
  for (const address of memberAddresses) {
    const port = portOf(address);
    if (port !== undefined) reservations.push({ protocol: 'tcp', port, is: `the port of manager ${address} (its gRPC API and Raft)` });
  }
  const metricsPort = metricsAddress === undefined ? undefined : portOf(metricsAddress);
  if (metricsPort !== undefined) reservations.push({ protocol: 'tcp', port: metricsPort, is: `the metrics port of manager ${metricsAddress}` });
  return reservations;
}

function portOf(address: string): number | undefined {
  const match = /:(\d{1,5})$/.exec(address);
  return match ? Number(match[1]) : undefined;
}
