import { NodeStatus, type Endpoint, type Node, type Service, type ServiceProgramming } from '../../proto/gen/trellis/v1/types';

/** The node names hosting a network (those with an endpoint on it). */
export type NetworkHosts = (networkId: string) => Iterable<string>;

/** What a node's agent last reported programmed, and whether the node is live. */
export interface HostProgramming {
  live: boolean;
  /** Per network id: the revision programmed. */
  networks: Readonly<Record<string, number>>;
  /** Endpoints of its view it could not program, whatever their network's revision says. */
  unprogrammed: ReadonlySet<string>;
}

/** An endpoint as readiness sees it: `host` names its node as the caller's `programmingOf` keys them (id or name). */
export interface ReadinessEndpoint {
  id: string;
  host: string;
  createdRevision: number;
}

/**
 * The ready ones among `endpoints` of network `networkId`, whose hosts are `hosts`. An endpoint is
 * ready when peers can reach it: its own node is live, and every live host of the network (its own
 * included) has programmed the network at least up to the endpoint's creation and does not list it
 * as unprogrammed. A host that is down is not waited for (it gets the endpoint when it comes
 * back), else one dead node would hold every endpoint of its networks unready.
 */
export function readyOnNetwork(
  networkId: string,
  endpoints: Iterable<ReadinessEndpoint>,
  hosts: Iterable<string>,
  programmingOf: (host: string) => HostProgramming | undefined,
): Set<string> {
  let programmedByAll = Infinity;
  const unprogrammed = new Set<string>();
  for (const host of hosts) {
    const programming = programmingOf(host);
    if (!programming?.live) continue;
    programmedByAll = Math.min(programmedByAll, programming.networks[networkId] ?? 0);
    for (const id of programming.unprogrammed) unprogrammed.add(id);
  }
  const ready = new Set<string>();
  for (const endpoint of endpoints) {
    if (programmingOf(endpoint.host)?.live && programmedByAll >= endpoint.createdRevision && !unprogrammed.has(endpoint.id)) ready.add(endpoint.id);
  }
  return ready;
}

/** `readyOnNetwork` for endpoints as the API shows them, from nodes as listed with their liveness. */
export function endpointReadiness(nodes: readonly Node[], hostsOf: NetworkHosts): (endpoint: Endpoint) => boolean {
  const byName = new Map(
    nodes.map((node): [string, HostProgramming] => [
      node.name,
      { live: node.status === NodeStatus.NODE_STATUS_READY, networks: node.programmedNetworks, unprogrammed: new Set(node.unprogrammedEndpointIds) },
    ]),
  );
  const programmingOf = (name: string): HostProgramming | undefined => byName.get(name);
  return (endpoint) =>
    readyOnNetwork(endpoint.networkId, [{ id: endpoint.id, host: endpoint.node, createdRevision: endpoint.createdRevision }], hostsOf(endpoint.networkId), programmingOf).has(endpoint.id);
}

/** Backends that take new flows: ready, and not draining (a draining one keeps only its established flows). */
export function readyBackendCount(service: Service): number {
  return service.backends.filter((endpoint) => endpoint.ready && !endpoint.draining).length;
}

/**
 * Each node hosting one of the service's networks (`hosts`, by name), in name order: whether its agent
 * holds a session, and whether it reported the service's current revision (its VIPs, ports and
 * timeouts) as programmed. `programmed` maps node names to the revision their agent reported. Whether
 * each backend is in the rules everywhere is that backend's `ready`.
 */
export function serviceProgramming(service: Service, nodes: readonly Node[], hosts: Iterable<string>, programmed: ReadonlyMap<string, number>): ServiceProgramming[] {
  const byName = new Map(nodes.map((node) => [node.name, node]));
  return [...new Set(hosts)].sort().map((name) => {
    const programmedRevision = programmed.get(name) ?? 0;
    return {
      node: name,
      live: byName.get(name)?.status === NodeStatus.NODE_STATUS_READY,
      programmed: programmedRevision >= service.updatedRevision,
      programmedRevision,
    };
  });
}
