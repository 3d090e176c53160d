import type { PortRequest } from './commands';
import { fail, inElement, ok, type Result } from './errors';
import { PORT_RANGE } from './limits';
import type { EndpointMode, PortProtocol, PortRecord, ServiceRecord } from './state';

/*
 * A service's published ports, checked like `docker service create --publish`.
 * Ingress ports are cluster-wide (every node answers on them), so two services
 * cannot publish the same one; host ports are per node and may repeat.
 * The list, protocol and port-number checks are shared with endpoints' published ports (published-ports.ts).
 */

const PROTOCOLS: readonly PortProtocol[] = ['tcp', 'udp'];
const PUBLISH_MODES: readonly PortRecord['publishMode'][] = ['ingress', 'host'];
const LAST_PORT = PORT_RANGE.max;

/** `field`: the request field the ports came in (`ports` of a new service, `publish_add` of an update). */
export function checkPorts(requests: readonly PortRequest[], endpointMode: EndpointMode, others: Iterable<ServiceRecord>, field = 'ports'): Result<PortRecord[]> {
  const ports = checkPortList(field, requests, checkPort, samePublished, describePort);
  if (!ports.ok) return ports;
  const ingress = endpointMode === 'dnsrr' ? ports.value.find((port) => port.publishMode === 'ingress') : undefined;
  if (ingress) {
    return fail(
      'INVALID_ARGUMENT',
      field,
      `${field}: ${describePort(ingress)} uses ingress mode, which needs a VIP; publish it with mode host, or use endpoint mode vip`,
    );
  }
  for (const other of others) {
    const clash = ports.value.find((port) => port.publishMode === 'ingress' && other.ports.some((taken) => samePublished(taken, port)));
    if (clash) {
      return fail('ALREADY_EXISTS', field, `${field}: ${describePort(clash)} is already published by service "${other.name}"; choose another published port`);
    }
  }
  return ports;
}

/**
 * Checks each element of a list field of ports, and refuses two that are the same port seen
 * from outside (`sameOutside`): one published port leads to one place.
 */
export function checkPortList<Request, Port>(
  field: string,
  requests: readonly Request[],
  check: (request: Request) => Result<Port>,
  sameOutside: (a: Port, b: Port) => boolean,
  describeOutside: (port: Port) => string,
  verb: { past: string; fix: string } = { past: 'published', fix: 'publish' },
): Result<Port[]> {
  const ports: Port[] = [];
  for (const [index, request] of requests.entries()) {
    const port = inElement(field, index, check(request));
    if (!port.ok) return port;
    const twin = ports.findIndex((earlier) => sameOutside(earlier, port.value));
    if (twin >= 0) {
      return fail('INVALID_ARGUMENT', field, `${field}: ${describeOutside(port.value)} is ${verb.past} twice (${field}[${twin}] and ${field}[${index}]); ${verb.fix} each port once`);
    }
    ports.push(port.value);
  }
  return ok(ports);
}

function checkPort(request: PortRequest): Result<PortRecord> {
  const protocol = checkProtocol(request.protocol);
  if (!protocol.ok) return protocol;
  const target = checkPortNumber('target_port', request.targetPort);
  if (!target.ok) return target;
  const published = request.publishedPort ?? 0;
  if (!isPort(published, 0)) {
    return fail('INVALID_ARGUMENT', 'published_port', `published_port: ${published} is out of range; give 1 to ${LAST_PORT}, or 0 for the target port`);
  }
  const publishMode = PUBLISH_MODES.find((known) => known === (request.publishMode || 'ingress'));
  if (!publishMode) return fail('INVALID_ARGUMENT', 'publish_mode', `publish_mode: "${request.publishMode}" is not ingress or host`);
  return ok({ protocol: protocol.value, targetPort: target.value, publishedPort: published || target.value, publishMode });
}

/** Absent or '' means tcp, as in docker. */
export function checkProtocol(value: string | undefined): Result<PortProtocol> {
  const protocol = PROTOCOLS.find((known) => known === (value || 'tcp'));
  return protocol ? ok(protocol) : fail('INVALID_ARGUMENT', 'protocol', `protocol: "${value}" is not tcp or udp`);
}

/** A port that must be given: 1 to 65535. */
export function checkPortNumber(field: string, value: number): Result<number> {
  if (isPort(value, 1)) return ok(value);
  return fail('INVALID_ARGUMENT', field, `${field}: ${value} is out of range; give 1 to ${LAST_PORT}`);
}

function isPort(value: number, lowest: number): boolean {
  return Number.isInteger(value) && value >= lowest && value <= LAST_PORT;
}

export function samePublished(a: PortRecord, b: PortRecord): boolean {
  return a.publishedPort === b.publishedPort && a.protocol === b.protocol && a.publishMode === b.publishMode;
}

export function describePort(port: PortRecord): string {
  return `${port.publishedPort}/${port.protocol}`;
}
