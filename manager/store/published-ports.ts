import type { PublishedPortRequest } from './commands';
import { fail, ok, type Result } from './errors';
import { checkPortList, checkPortNumber, checkProtocol } from './ports';
import { refuseReserved, reservationsOn } from './reserved-ports';
import type { NetworkRecord, PublishedPortRecord, SandboxRecord, StoreState } from './state';

/*
 * An endpoint's published ports, checked like `docker run -p HOST:CONTAINER/PROTOCOL`.
 * The agent of the sandbox's node DNATs each host port to the endpoint, so a
 * (protocol, host port) can lead to one endpoint per node only; other nodes may reuse it.
 */

export function checkPublishedPorts(
  state: StoreState,
  network: NetworkRecord,
  sandbox: SandboxRecord,
  requests: readonly PublishedPortRequest[],
): Result<PublishedPortRecord[]> {
  const ports = checkPortList('published_ports', requests, checkPublishedPort, sameHostPort, describe);
  if (!ports.ok || ports.value.length === 0) return ports;
  const reserved = refuseReserved('published_ports', ports.value, hostSide, reservationsOn(state.node(sandbox.nodeId)));
  if (!reserved.ok) return reserved;
  if (sandbox.adoptedNetns !== undefined) {
    return fail(
      'FAILED_PRECONDITION',
      'published_ports',
      `published_ports: sandbox "${sandbox.name}" uses the adopted namespace ${sandbox.adoptedNetns}, whose way out is its runtime's (Trellis gives it no gateway); publish through that runtime, or use a sandbox Trellis creates`,
    );
  }
  if (network.internal) {
    return fail(
      'FAILED_PRECONDITION',
      'published_ports',
      `published_ports: network "${network.name}" is --internal: internal networks have no gateway; publish through a non-internal network`,
    );
  }
  return refuseTakenOnNode(state, sandbox, ports.value);
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

/** Every endpoint of every sandbox on the node counts, the connecting sandbox's others included: a host port leads to one place. */
function refuseTakenOnNode(state: StoreState, sandbox: SandboxRecord, ports: PublishedPortRecord[]): Result<PublishedPortRecord[]> {
  for (const neighbour of state.sandboxesOfNode(sandbox.nodeId)) {
    for (const endpoint of state.endpointsOfSandbox(neighbour.id)) {
      const clash = ports.find((port) => endpoint.publishedPorts?.some((taken) => sameHostPort(taken, port)));
      if (!clash) continue;
      const node = state.node(sandbox.nodeId).name;
      const network = state.network(endpoint.networkId).name;
      return fail(
        'ALREADY_EXISTS',
        'published_ports',
        `published_ports: ${describe(clash)} on node "${node}" is already published by sandbox "${neighbour.name}" (endpoint ${endpoint.id} on network "${network}"); choose another host port, or disconnect "${neighbour.name}" from "${network}" first`,
      );
    }
  }
  return ok(ports);
}

function hostSide(port: PublishedPortRecord): { protocol: PublishedPortRecord['protocol']; port: number } {
  return { protocol: port.protocol, port: port.hostPort };
}

function sameHostPort(a: PublishedPortRecord, b: PublishedPortRecord): boolean {
  return a.hostPort === b.hostPort && a.protocol === b.protocol;
}

function describe(port: PublishedPortRecord): string {
  return `host port ${port.hostPort}/${port.protocol}`;
}
