import type { Connect, ExposedPortRequest, PublishedPortRequest } from './commands';
import { fail, ok, type Result } from './errors';
import { DEFAULT_EPHEMERAL_PORTS } from './host-links';
import { LIMITS } from './limits';
import { checkPortList, checkPortNumber, checkProtocol } from './ports';
import { refuseReserved, reservationsOn } from './reserved-ports';
import type { EndpointRecord, ExposedPortRecord, NetworkRecord, PortProtocol, PublishedPortRecord, SandboxRecord, StoreState } from './state';

/*
 * An endpoint's published ports, checked like `docker run -p HOST:CONTAINER/PROTOCOL`, and with
 * publish_all (`-P`) a host port chosen for each exposed port, like Docker's. The agent of the
 * sandbox's node DNATs each host port to the endpoint, so a (protocol, host port) can lead to one
 * endpoint per node only; other nodes may reuse it.
 */

/** What a connect publishes: the explicit ports, then those publish_all chose. */
export interface Publishing {
  publishedPorts: PublishedPortRecord[];
  exposedPorts: ExposedPortRecord[];
  publishAll: boolean;
}

export function checkPublishing(state: StoreState, network: NetworkRecord, sandbox: SandboxRecord, command: Connect): Result<Publishing> {
  const exposedPorts = checkPortList('exposed_ports', command.exposedPorts ?? [], checkExposedPort, sameExposed, (port) => `${port.port}/${port.protocol}`, {
    past: 'exposed',
    fix: 'expose',
  });
  if (!exposedPorts.ok) return exposedPorts;
  const publishAll = command.publishAll === true;
  if (publishAll && exposedPorts.value.length === 0) {
    return fail('INVALID_ARGUMENT', 'publish_all', 'publish_all: -P with nothing exposed: add --expose PORT (like --expose 80, or --expose 53/udp)');
  }
  const explicit = checkPublishedPorts(state, network, sandbox, command.publishedPorts ?? []);
  if (!explicit.ok) return explicit;
  if (!publishAll) return ok({ publishedPorts: explicit.value, exposedPorts: exposedPorts.value, publishAll });
  const publishable = refuseUnpublishable(network, sandbox, 'publish_all');
  if (!publishable.ok) return publishable;
  const publishedPorts = chooseHostPorts(state, sandbox, explicit.value, exposedPorts.value, command.avoidHostPorts ?? []);
  if (!publishedPorts.ok) return publishedPorts;
  return ok({ publishedPorts: publishedPorts.value, exposedPorts: exposedPorts.value, publishAll });
}

function checkPublishedPorts(state: StoreState, network: NetworkRecord, sandbox: SandboxRecord, requests: readonly PublishedPortRequest[]): Result<PublishedPortRecord[]> {
  const ports = checkPortList('published_ports', requests, checkPublishedPort, sameHostPort, describe);
  if (!ports.ok || ports.value.length === 0) return ports;
  const reserved = refuseReserved('published_ports', ports.value, hostSide, reservationsOn(state.node(sandbox.nodeId)));
  if (!reserved.ok) return reserved;
  const publishable = refuseUnpublishable(network, sandbox, 'published_ports');
  if (!publishable.ok) return publishable;
  return refuseTakenOnNode(state, sandbox, ports.value);
}

/** Endpoints whose node cannot forward a port to them: `field` is what asked for one. */
function refuseUnpublishable(network: NetworkRecord, sandbox: SandboxRecord, field: string): Result<void> {
  if (network.driver === 'macvlan' || network.driver === 'ipvlan') {
    return fail(
      'INVALID_ARGUMENT',
      field,
      `${field}: network "${network.name}" is ${network.driver}: its sandboxes are on the LAN of ${network.parent} at addresses of their own, which the node does not route; reach the port at the sandbox's address, or publish through a bridge or overlay network`,
    );
  }
  if (sandbox.adoptedNetns !== undefined) {
    return fail(
      'FAILED_PRECONDITION',
      field,
      `${field}: sandbox "${sandbox.name}" uses the adopted namespace ${sandbox.adoptedNetns}, whose way out is its runtime's (Trellis gives it no gateway); publish through that runtime, or use a sandbox Trellis creates`,
    );
  }
  if (network.internal) {
    return fail(
      'FAILED_PRECONDITION',
      field,
      `${field}: network "${network.name}" is --internal: internal networks have no gateway; publish through a non-internal network`,
    );
  }
  return ok(undefined);
}

function checkPublishedPort(request: PublishedPortRequest): Result<PublishedPortRecord> {
  const protocol = checkProtocol(request.protocol);
  if (!protocol.ok) return protocol;
  const hostPort = checkPortNumber('host_port', request.hostPort);
  if (!hostPort.ok) return hostPort;
  const port = checkPortNumber('port', request.port);
  if (!port.ok) return port;
  return ok({ protocol: protocol.value, hostPort: hostPort.value, port: port.value });
}

function checkExposedPort(request: ExposedPortRequest): Result<ExposedPortRecord> {
  const protocol = checkProtocol(request.protocol);
  if (!protocol.ok) return protocol;
  const port = checkPortNumber('port', request.port);
  if (!port.ok) return port;
  return ok({ protocol: protocol.value, port: port.value });
}

/** Every published port of every endpoint of every sandbox on the node, the connecting sandbox's others included: a host port leads to one place. */
function* publishedOnNode(state: StoreState, nodeId: string): Generator<{ sandbox: SandboxRecord; endpoint: EndpointRecord; port: PublishedPortRecord }> {
  for (const sandbox of state.sandboxesOfNode(nodeId)) {
    for (const endpoint of state.endpointsOfSandbox(sandbox.id)) {
      for (const port of endpoint.publishedPorts ?? []) yield { sandbox, endpoint, port };
    }
  }
}

function refuseTakenOnNode(state: StoreState, sandbox: SandboxRecord, ports: PublishedPortRecord[]): Result<PublishedPortRecord[]> {
  for (const taken of publishedOnNode(state, sandbox.nodeId)) {
    const clash = ports.find((port) => sameHostPort(taken.port, port));
    if (!clash) continue;
    const node = state.node(sandbox.nodeId).name;
    const network = state.network(taken.endpoint.networkId).name;
    const neighbour = taken.sandbox.name;
    return fail(
      'ALREADY_EXISTS',
      'published_ports',
      `published_ports: ${describe(clash)} on node "${node}" is already published by sandbox "${neighbour}" (endpoint ${taken.endpoint.id} on network "${network}"); choose another host port, or disconnect "${neighbour}" from "${network}" first`,
    );
  }
  return ok(ports);
}

/**
 * `-P`: each exposed port not published explicitly gets the lowest port of the node's ephemeral range
 * that nothing else on the node takes: no other endpoint's published port, no reserved or cluster
 * port, no managers' port (`avoid`, from the proposer), no service's ingress port (every node answers those). Chosen in apply, from the replicated
 * state only, so every replica chooses the same.
 */
function chooseHostPorts(
  state: StoreState,
  sandbox: SandboxRecord,
  explicit: PublishedPortRecord[],
  exposed: ExposedPortRecord[],
  avoid: readonly ExposedPortRequest[],
): Result<PublishedPortRecord[]> {
  const node = state.node(sandbox.nodeId);
  const range = node.ephemeralPorts ?? DEFAULT_EPHEMERAL_PORTS;
  const taken: Record<PortProtocol, Set<number>> = { tcp: new Set(), udp: new Set() };
  const take = (protocol: PortProtocol, port: number): void => void taken[protocol].add(port);
  for (const { port } of publishedOnNode(state, node.id)) take(port.protocol, port.hostPort);
  for (const port of explicit) take(port.protocol, port.hostPort);
  for (const reserved of reservationsOn(node)) take(reserved.protocol, reserved.port);
  for (const port of avoid) if (port.protocol === 'udp' || port.protocol === 'tcp') take(port.protocol, port.port);
  for (const serviceId of state.ingressServiceIds) {
    for (const port of state.service(serviceId).ports) if (port.publishMode === 'ingress') take(port.protocol, port.publishedPort);
  }
  const ports = [...explicit];
  for (const wanted of exposed) {
    if (explicit.some((port) => port.port === wanted.port && port.protocol === wanted.protocol)) continue;
    let hostPort = range.first;
    while (hostPort <= range.last && taken[wanted.protocol].has(hostPort)) hostPort++;
    if (hostPort > range.last) {
      return fail(
        'RESOURCE_EXHAUSTED',
        'publish_all',
        `publish_all: every ${wanted.protocol} port of node "${node.name}"'s ephemeral range ${range.first}-${range.last} is taken; disconnect sandboxes that publish there, or publish ${wanted.port}/${wanted.protocol} with an explicit --publish`,
      );
    }
    take(wanted.protocol, hostPort);
    ports.push({ protocol: wanted.protocol, hostPort, port: wanted.port });
  }
  if (ports.length > LIMITS.publishedPorts) {
    return fail('INVALID_ARGUMENT', 'publish_all', `publish_all: ${ports.length} published ports with the exposed ones; at most ${LIMITS.publishedPorts} per endpoint, expose fewer`);
  }
  return ok(ports);
}

function hostSide(port: PublishedPortRecord): { protocol: PublishedPortRecord['protocol']; port: number } {
  return { protocol: port.protocol, port: port.hostPort };
}

function sameHostPort(a: PublishedPortRecord, b: PublishedPortRecord): boolean {
  return a.hostPort === b.hostPort && a.protocol === b.protocol;
}

function sameExposed(a: ExposedPortRecord, b: ExposedPortRecord): boolean {
  return a.port === b.port && a.protocol === b.protocol;
}

function describe(port: PublishedPortRecord): string {
  return `host port ${port.hostPort}/${port.protocol}`;
}
