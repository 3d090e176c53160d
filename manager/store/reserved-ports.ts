import { CLUSTER_PORTS } from '../../proto/runtime/reserved';
import type { ReservedPortRequest } from './commands';
import { fail, ok, type Result } from './errors';
import { checkText } from './fields';
import { LIMITS } from './limits';
import { checkPortList, checkPortNumber, checkProtocol } from './ports';
import type { NodeRecord, PortProtocol, ReservedPortRecord } from './state';

/*
 * Ports no published port may take, because Trellis or the node already uses them there: the
 * VXLAN port and the gossip DHT's ports on every node (proto/runtime/reserved.ts), and what each
 * node's agent reported when it registered. The managers' own ports are known to
 * the managers only, not to the replicated state: the API checks them before proposing
 * (manager/api/manager-ports.ts), with these same words.
 */

export interface Reservation {
  protocol: PortProtocol;
  port: number;
  /** Completes "4789/udp is …". */
  is: string;
}

const CLUSTER_RESERVATIONS: readonly Reservation[] = CLUSTER_PORTS;

/** What no sandbox on `node` may publish. */
export function reservationsOn(node: NodeRecord): Reservation[] {
  return [...CLUSTER_RESERVATIONS, ...(node.reservedPorts ?? []).map((reserved) => nodeReservation(node, reserved))];
}

/** What no service may publish: every node may come to host one of its backends (and ingress ports are on all). */
export function reservationsOnAny(nodes: Iterable<NodeRecord>): Reservation[] {
  const all = [...CLUSTER_RESERVATIONS];
  for (const node of nodes) for (const reserved of node.reservedPorts ?? []) all.push(nodeReservation(node, reserved));
  return all;
}

function nodeReservation(node: NodeRecord, reserved: ReservedPortRecord): Reservation {
  return { protocol: reserved.protocol, port: reserved.port, is: `reserved on node "${node.name}" (${reserved.reason})` };
}

/**
 * Refuses the first port that is reserved. INVALID_ARGUMENT like any other port that can never be
 * published (the fix is another port, not another state of the cluster).
 */
export function refuseReserved<Port>(
  field: string,
  ports: readonly Port[],
  outside: (port: Port) => { protocol: string; port: number },
  reservations: readonly Reservation[],
): Result<void> {
  for (const port of ports) {
    const { protocol, port: number } = outside(port);
    const reservation = reservations.find((reserved) => reserved.protocol === protocol && reserved.port === number);
    if (reservation !== undefined) {
      return fail('INVALID_ARGUMENT', field, `${field}: ${number}/${protocol} is ${reservation.is}; publish another port`);
    }
  }
  return ok(undefined);
}

/** What an agent says it reserves, checked like any request field. */
export function checkReservedPorts(requests: readonly ReservedPortRequest[]): Result<ReservedPortRecord[]> {
  return checkPortList('reserved_ports', requests, checkReservedPort, samePort, (port) => `${port.port}/${port.protocol}`);
}

function samePort(a: ReservedPortRecord, b: ReservedPortRecord): boolean {
  return a.port === b.port && a.protocol === b.protocol;
}

function checkReservedPort(request: ReservedPortRequest): Result<ReservedPortRecord> {
  const protocol = checkProtocol(request.protocol);
  if (!protocol.ok) return protocol;
  const port = checkPortNumber('port', request.port);
  if (!port.ok) return port;
  const reason = request.reason || 'given with --reserved-ports';
  if (reason.length > LIMITS.reservedPortReasonLength) {
    return fail('INVALID_ARGUMENT', 'reason', `reason: ${reason.length} characters; at most ${LIMITS.reservedPortReasonLength}`);
  }
  const text = checkText('reason', 'the reason', reason);
  if (!text.ok) return text;
  return ok({ protocol: protocol.value, port: port.value, reason });
}
