import type { PortRequest } from './commands';
import { fail, inElement, ok, type Result } from './errors';
import type { EndpointMode, PortRecord, ServiceRecord } from './state';

/*
 * A service's published ports, checked like `docker service create --publish`.
 * Ingress ports are cluster-wide (every node answers on them), so two services
 * cannot publish the same one; host ports are per node and may repeat.
 */

const PROTOCOLS: readonly PortRecord['protocol'][] = ['tcp', 'udp'];
const PUBLISH_MODES: readonly PortRecord['publishMode'][] = ['ingress', 'host'];
const LAST_PORT = 65535;

export function checkPorts(requests: readonly PortRequest[], endpointMode: EndpointMode, others: Iterable<ServiceRecord>): Result<PortRecord[]> {
  const ports: PortRecord[] = [];
  for (const [index, request] of requests.entries()) {
    const port = inElement('ports', index, checkPort(request));
    if (!port.ok) return port;
    const twin = ports.findIndex((earlier) => samePublished(earlier, port.value));
    if (twin >= 0) {
      return fail('INVALID_ARGUMENT', 'ports', `ports: ${describe(port.value)} is published twice (ports[${twin}] and ports[${index}]); publish each port once`);
    }
    if (endpointMode === 'dnsrr' && port.value.publishMode === 'ingress') {
      return fail(
        'INVALID_ARGUMENT',
        'ports',
        `ports: ${describe(port.value)} uses ingress mode, which needs a VIP; publish it with mode host, or use endpoint mode vip`,
      );
    }
    ports.push(port.value);
  }
  for (const other of others) {
    const clash = ports.find((port) => port.publishMode === 'ingress' && other.ports.some((taken) => samePublished(taken, port)));
    if (clash) {
      return fail('ALREADY_EXISTS', 'ports', `ports: ${describe(clash)} is already published by service "${other.name}"; choose another published port`);
    }
  }
  return ok(ports);
}

function checkPort(request: PortRequest): Result<PortRecord> {
  const protocol = PROTOCOLS.find((known) => known === (request.protocol || 'tcp'));
  if (!protocol) return fail('INVALID_ARGUMENT', 'protocol', `protocol: "${request.protocol}" is not tcp or udp`);
  if (!isPort(request.targetPort, 1)) {
    return fail('INVALID_ARGUMENT', 'target_port', `target_port: ${request.targetPort} is out of range; give 1 to ${LAST_PORT}`);
  }
  const published = request.publishedPort ?? 0;
  if (!isPort(published, 0)) {
    return fail('INVALID_ARGUMENT', 'published_port', `published_port: ${published} is out of range; give 1 to ${LAST_PORT}, or 0 for the target port`);
  }
  const publishMode = PUBLISH_MODES.find((known) => known === (request.publishMode || 'ingress'));
  if (!publishMode) return fail('INVALID_ARGUMENT', 'publish_mode', `publish_mode: "${request.publishMode}" is not ingress or host`);
  return ok({ protocol, targetPort: request.targetPort, publishedPort: published || request.targetPort, publishMode });
}

function isPort(value: number, lowest: number): boolean {
  return Number.isInteger(value) && value >= lowest && value <= LAST_PORT;
}

function samePublished(a: PortRecord, b: PortRecord): boolean {
  return a.publishedPort === b.publishedPort && a.protocol === b.protocol && a.publishMode === b.publishMode;
}

function describe(port: PortRecord): string {
  return `${port.publishedPort}/${port.protocol}`;
}
