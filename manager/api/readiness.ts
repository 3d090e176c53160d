import { NodeStatus, type Endpoint, type Node } from '../../proto/gen/trellis/v1/types';

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
