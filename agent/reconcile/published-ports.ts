import { EndpointView } from '../../proto/gen/trellis/v1/dispatcher';
import type { ReservedPort } from '../../proto/gen/trellis/v1/types';
import { CLUSTER_PORTS } from '../../proto/runtime/reserved';
import { PublishedPortRule } from '../kernel';

const LAST_PORT = 65535;

function isPort(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= LAST_PORT;
}

function protocolOf(text: string): PublishedPortRule['protocol'] | undefined {
  return text === 'tcp' || text === 'udp' ? text : undefined;
}

/**
 * Host ports no sandbox may take here, by "protocol port", with what uses them: the VXLAN port
 * and what this agent reserves. The managers refuse them already; this is the agent's own guard,
 * for a store that let one through (an older manager, or a reservation added after the publish).
 */
export function reservedHostPorts(reserved: readonly ReservedPort[]): Map<string, string> {
  // Each port's own few words: the store's longer description does not fit in the parentheses below.
  const ports = new Map(CLUSTER_PORTS.map((reserved) => [`${reserved.protocol} ${reserved.port}`, reserved.short]));
  for (const port of reserved) ports.set(`${port.protocol || 'tcp'} ${port.port}`, port.reason || 'reserved with --reserved-ports');
  return ports;
}

/**
 * A sandbox's published ports, from all its local endpoints. One host port of a protocol goes to
 * one place on the host: `claimed` ("tcp 8080") spans every sandbox of the pass, first come
 * first served in view order. Pure, but for adding to `claimed`.
 */
export function publishedPorts(
  endpoints: readonly EndpointView[],
  hasEgress: boolean,
  claimed: Set<string>,
  reserved: ReadonlyMap<string, string>,
): { rules: PublishedPortRule[]; skipped: string[] } {
  const rules: PublishedPortRule[] = [];
  const skipped: string[] = [];
  for (const endpoint of endpoints) {
    for (const port of endpoint.publishedPorts) {
      const protocol = protocolOf(port.protocol);
      const described = `published port ${port.hostPort}:${port.port}/${port.protocol}`;
      const key = `${protocol} ${port.hostPort}`;
      if (protocol === undefined || !isPort(port.hostPort) || !isPort(port.port)) skipped.push(`${described} is invalid`);
      else if (reserved.has(key)) skipped.push(`${described}: host port ${port.hostPort}/${protocol} is reserved on this node (${reserved.get(key)}); never published`);
      else if (!hasEgress) skipped.push(`${described} needs a non-internal network (the gateway bridge)`);
      else if (claimed.has(key)) skipped.push(`${described}: host port already published here`);
      else {
        claimed.add(key);
        rules.push({ protocol, hostPort: port.hostPort, port: port.port });
      }
    }
  }
  return { rules, skipped };
}
