import { NodeStatus, type Endpoint, type Node, type Service, type ServiceProgramming } from '../../proto/gen/trellis/v1/types';

/** The node names hosting a network (those with an endpoint on it). */
export type NetworkHosts = (networkId: string) => Iterable<string>;

/**
 * Whether peers can reach an endpoint: its own agent is live and has programmed it,
 * and so has every other live agent hosting its network. An agent that is down is
 * not waited for (it gets the endpoint when it comes back), else one dead node would
 * hold every endpoint of its networks unready.
 */
export function endpointReadiness(nodes: readonly Node[], hostsOf: NetworkHosts): (endpoint: Endpoint) => boolean {
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const programmed = (node: Node, endpoint: Endpoint): boolean =>
    (node.programmedNetworks[endpoint.networkId] ?? 0) >= endpoint.createdRevision;
  const live = (node: Node | undefined): node is Node => node?.status === NodeStatus.NODE_STATUS_READY;
  return (endpoint) => {
    const own = byName.get(endpoint.node);
    if (!live(own) || !programmed(own, endpoint)) return false;
    for (const host of hostsOf(endpoint.networkId)) {
      const node = byName.get(host);
      if (live(node) && !programmed(node, endpoint)) return false;
    }
    return true;
  };
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
