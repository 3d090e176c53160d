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
  /**
   * The node gossips (it registered a gossip key): its view leaves out the endpoints of other
   * gossiping nodes, so its network revision says nothing of theirs (see `readyOnNetwork`).
   */
  gossips?: boolean;
}

/** An endpoint as readiness sees it: `host` names its node as the caller's `programmingOf` keys them (id or name). */
export interface ReadinessEndpoint {
  id: string;
  host: string;
  createdRevision: number;
}

/**
 * For a gossiping owner on the network: the revision up to which every one of `members` (the live
 * gossiping hosts of the network that reported it, the owner among them) has programmed the
 * owner's endpoints there, learnt through gossip (ProgrammedReport.members).
 */
export type GossipFloor = (ownerHost: string, members: readonly string[]) => number;

/**
 * The ready ones among `endpoints` of network `networkId`, whose hosts are `hosts`. An endpoint is
 * ready when peers can reach it: its own node is live and has programmed the network at least up to
 * the endpoint's creation, and so has every other live host of the network that has reported it;
 * and no live host lists the endpoint as unprogrammed.
 * - A host that is down is not waited for (it gets the endpoint when it comes back), else one dead
 *   node would hold every endpoint of its networks unready.
 * - Nor is a host that has not reported the network at all: it is joining it (its first sandbox
 *   there was just attached, or a new leader has not heard from it yet), its own endpoints are not
 *   ready until it has, and its sandboxes reach nothing on the network before then anyway; else
 *   every attach on a new node would take every backend of the network out of service meanwhile.
 * - Between two gossiping nodes the network revision does not say it: the endpoint is not in the
 *   other's view. `gossipFloor` says how far each has programmed what the owner gossips (without
 *   it, as where only the nodes as listed are known, their `unprogrammed` lists say it).
 */
export function readyOnNetwork(
  networkId: string,
  endpoints: Iterable<ReadinessEndpoint>,
  hosts: Iterable<string>,
  programmingOf: (host: string) => HostProgramming | undefined,
  gossipFloor?: GossipFloor,
): Set<string> {
  const programmedOn = (programming: HostProgramming | undefined): number | undefined =>
    programming?.live && Object.hasOwn(programming.networks, networkId) ? programming.networks[networkId] : undefined;
  let programmedByAll = Infinity;
  let programmedByPlain = Infinity;
  const members: string[] = [];
  const unprogrammed = new Set<string>();
  for (const host of hosts) {
    const programming = programmingOf(host);
    if (!programming?.live) continue;
    for (const id of programming.unprogrammed) unprogrammed.add(id);
    const programmed = programmedOn(programming);
    programmedByAll = Math.min(programmedByAll, programmed ?? Infinity);
    if (!programming.gossips) programmedByPlain = Math.min(programmedByPlain, programmed ?? Infinity);
    else if (programmed !== undefined) members.push(host);
  }
  const floors = new Map<string, number>();
  const othersOf = (host: string, owner: HostProgramming | undefined): number => {
    if (!owner?.gossips) return programmedByAll;
    let floor = floors.get(host);
    if (floor === undefined) floors.set(host, (floor = Math.min(programmedByPlain, gossipFloor?.(host, members) ?? Infinity)));
    return floor;
  };
  const ready = new Set<string>();
  for (const endpoint of endpoints) {
    const owner = programmingOf(endpoint.host);
    const own = programmedOn(owner);
    const programmed = own !== undefined && Math.min(own, othersOf(endpoint.host, owner)) >= endpoint.createdRevision;
    if (programmed && !unprogrammed.has(endpoint.id)) ready.add(endpoint.id);
  }
  return ready;
}

/** `readyOnNetwork` for endpoints as the API shows them, from nodes as listed with their liveness. */
export function endpointReadiness(nodes: readonly Node[], hostsOf: NetworkHosts): (endpoint: Endpoint) => boolean {
  const byName = new Map(
    nodes.map((node): [string, HostProgramming] => [
      node.name,
      {
        live: node.status === NodeStatus.NODE_STATUS_READY,
        networks: node.programmedNetworks,
        unprogrammed: new Set(node.unprogrammedEndpointIds),
        gossips: node.gossipPublicKey !== '',
      },
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
