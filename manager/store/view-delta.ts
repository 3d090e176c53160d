import type { EndpointView, MemberRef, MemberView, ServiceView, ViewDelta } from '../../proto/gen/trellis/v1/dispatcher';
import type { Changes } from './journal';
import type { EndpointRecord, StoreState } from './state';
import {
  gossips,
  hostedNetworkIds,
  leftToGossip,
  toMemberView,
  isMeshBackend,
  isServiceVisible,
  meshBackendViews,
  networkEndpointViews,
  overlaySubnetsFor,
  serviceBackendViews,
  toEndpointView,
  toNetworkView,
  toSandboxView,
  toServiceView,
  type NetworkEndpointsCache,
} from './views';

/**
 * Whether the node surely hosted the network at `fromRevision`: one of its endpoints there now
 * existed then already (an endpoint never changes node). A node gaining a second endpoint on a
 * network it hosts then gets that endpoint, not the whole network again (with every member's
 * endpoints, or every gossiping member).
 */
function hostedAt(state: StoreState, nodeId: string, networkId: string, fromRevision: number): boolean {
  return state
    .sandboxesOfNode(nodeId)
    .some((sandbox) => state.endpointsOfSandbox(sandbox.id).some((endpoint) => endpoint.networkId === networkId && endpoint.createdRevision <= fromRevision));
}

/**
 * Turns an agent's view at `fromRevision` into its view now, given everything written
 * in between. Whatever the agent held at `fromRevision`:
 * - a network it hosts now but may not have hosted then (see `hostedAt`) gained a local endpoint
 *   in between, so such networks are sent whole;
 * - an endpoint or sandbox that changed is sent as it is now, or as removed;
 * - an endpoint whose node changed address is sent again (its vtep changed);
 * - endpoints of hosted networks that gossip brings (see `leftToGossip`) are left out: see
 *   `hostedEndpointChanges`, and for the members of a gossiping node `memberChanges`;
 * - networks it no longer hosts are absent from `networkIds`: the agent drops them
 *   with their endpoints and members;
 * - the cluster's overlay subnets are sent whole, as they are now;
 * - a service is sent as it is now when it changed, or it is on a network sent whole, or on one
 *   the node may have stopped hosting (its VIPs shown are only those of hosted networks); as
 *   removed when it is gone, or neither on a hosted network nor publishing an ingress port;
 * - the backends of services publishing ingress ports on networks the node does not host: see
 *   `meshBackendChanges`.
 */
export function viewDelta(
  state: StoreState,
  nodeId: string,
  fromRevision: number,
  changes: Changes,
  cache: NetworkEndpointsCache = new Map(),
): ViewDelta {
  const node = state.nodes.get(nodeId);
  const hosted = hostedNetworkIds(state, nodeId);
  const whole = new Set<string>();
  // Each network once: hostedAt reads every endpoint of the node's sandboxes.
  const judged = new Set<string>();
  for (const [endpointId, networkId] of changes.endpoints) {
    if (judged.has(networkId) || !hosted.has(networkId)) continue;
    const endpoint = state.endpoints.get(endpointId);
    if (!endpoint || state.sandbox(endpoint.sandboxId).nodeId !== nodeId) continue;
    judged.add(networkId);
    if (!hostedAt(state, nodeId, networkId, fromRevision)) whole.add(networkId);
  }

  const scope: DeltaScope = { state, nodeId, hosted, whole, changes, cache };
  const { endpoints, removed } = hostedEndpointChanges(scope);
  const mesh = meshBackendChanges(state, nodeId, hosted, changes, cache);
  for (const view of mesh.endpoints) endpoints.set(view.id, view);
  const removedEndpointIds = [...removed, ...mesh.removed];

  const { services, removedServiceIds } = serviceChanges(state, nodeId, hosted, whole, changes);

  const sandboxes = [];
  const removedSandboxIds: string[] = [];
  for (const [sandboxId, sandboxNodeId] of changes.sandboxes) {
    if (sandboxNodeId !== nodeId) continue;
    const sandbox = state.sandboxes.get(sandboxId);
    if (sandbox) sandboxes.push(toSandboxView(sandbox));
    else removedSandboxIds.push(sandboxId);
  }

  return {
    fromRevision,
    revision: state.revision,
    nodeName: node?.name ?? '',
    advertiseAddr: node?.advertiseAddr ?? '',
    networkIds: [...hosted],
    networks: [...hosted]
      .filter((id) => whole.has(id) || changes.networks.has(id))
      .map((id) => toNetworkView(state.network(id))),
    sandboxes,
    removedSandboxIds,
    endpoints: [...endpoints.values()],
    removedEndpointIds,
    // Whole every time: it is small, and an agent then never has to know which networks it missed.
    overlaySubnets: overlaySubnetsFor(state, node),
    services,
    removedServiceIds,
    ...memberChanges(scope),
    more: false,
  };
}

/** What each part of one node's delta reads: `whole` are the hosted networks sent whole. */
interface DeltaScope {
  state: StoreState;
  nodeId: string;
  hosted: ReadonlySet<string>;
  whole: ReadonlySet<string>;
  changes: Changes;
  cache: NetworkEndpointsCache;
}

/**
 * How the endpoints of the networks the node hosts now changed in its view: each endpoint that
 * may have entered it or changed is sent as it is now, unless gossip brings it (`leftToGossip`);
 * then it is sent as removed when the node may hold it from `fromRevision`, which happens only if
 * - the node started or stopped gossiping meanwhile (all its networks are looked at again), or its
 *   owner did (the owner's endpoints are: its record changed);
 * - the node may not have hosted the network then (a network sent whole) and held it as the
 *   backend of a service publishing an ingress port.
 * Else both gossiped then as now, and it was never in the view: a change of it costs nothing.
 */
function hostedEndpointChanges(scope: DeltaScope): { endpoints: Map<string, EndpointView>; removed: Set<string> } {
  const { state, nodeId, hosted, whole, changes, cache } = scope;
  const endpoints = new Map<string, EndpointView>();
  const removed = new Set<string>();
  const ownSwitch = changes.gossipSwitched.has(nodeId);
  const mayHoldLeftOut = (ownerId: string, networkId: string, serviceId: string): boolean =>
    ownSwitch ||
    changes.gossipSwitched.has(ownerId) ||
    (whole.has(networkId) && serviceId !== '' && (state.ingressServiceIds.has(serviceId) || changes.ingressServices.has(serviceId)));
  const consider = (view: EndpointView): void => {
    if (!leftToGossip(state, nodeId, view.nodeId)) endpoints.set(view.id, view);
    else if (mayHoldLeftOut(view.nodeId, view.networkId, view.serviceId)) removed.add(view.id);
  };
  /** Builds the view only when it is sent. */
  const considerRecord = (endpoint: EndpointRecord): void => {
    const ownerId = state.sandbox(endpoint.sandboxId).nodeId;
    if (!leftToGossip(state, nodeId, ownerId) || mayHoldLeftOut(ownerId, endpoint.networkId, endpoint.serviceId)) consider(toEndpointView(state, endpoint));
  };

  for (const networkId of hosted) {
    if (whole.has(networkId) || ownSwitch) for (const view of networkEndpointViews(state, networkId, cache)) consider(view);
  }
  for (const [endpointId, networkId] of changes.endpoints) {
    if (!hosted.has(networkId)) continue;
    const endpoint = state.endpoints.get(endpointId);
    // A network sent whole still names its removed endpoints: the agent keeps what it held of it.
    if (!endpoint) removed.add(endpointId);
    else if (!whole.has(networkId) && !ownSwitch) considerRecord(endpoint);
  }
  for (const changedNodeId of changes.nodes) {
    for (const sandbox of state.sandboxesOfNode(changedNodeId)) {
      for (const endpoint of state.endpointsOfSandbox(sandbox.id)) {
        if (hosted.has(endpoint.networkId) && !endpoints.has(endpoint.id) && !removed.has(endpoint.id)) considerRecord(endpoint);
      }
    }
  }
  return { endpoints, removed };
}

/**
 * How the members of a gossiping node changed (NodeView.members; none for a node that does not
 * gossip, now and since `fromRevision`): each pair of a network it hosts and another node that
 * may have been a member there then or may be one now is sent as it is now, or as removed. Such
 * a node hosts the network now or had an endpoint there written meanwhile; it may have come,
 * gone or changed key or address (its record was written). Every host of a network is looked at
 * when the node started or stopped gossiping, or may not have hosted the network then (sent whole).
 * Members of a network the node stopped hosting leave with it (absent from `networkIds`).
 */
function memberChanges(scope: DeltaScope): Pick<ViewDelta, 'members' | 'removedMembers'> {
  const { state, nodeId, hosted, whole, changes, cache } = scope;
  const ownSwitch = changes.gossipSwitched.has(nodeId);
  // It held none then and holds none now.
  if (!gossips(state, nodeId) && !ownSwitch) return { members: [], removedMembers: [] };
  const candidates = new Map<string, Set<string>>();
  const consider = (networkId: string, hostId: string | undefined): void => {
    if (hostId === undefined || hostId === nodeId || !hosted.has(networkId)) return;
    const hosts = candidates.get(networkId) ?? new Set<string>();
    candidates.set(networkId, hosts.add(hostId));
  };
  for (const networkId of hosted) {
    if (whole.has(networkId) || ownSwitch) for (const view of networkEndpointViews(state, networkId, cache)) consider(networkId, view.nodeId);
  }
  for (const [endpointId, networkId] of changes.endpoints) consider(networkId, changes.endpointNodes.get(endpointId));
  for (const changedNodeId of changes.nodes) for (const networkId of hostedNetworkIds(state, changedNodeId)) consider(networkId, changedNodeId);

  // By each candidate's own endpoints, not by every host of the network: a wide network costs
  // nothing more when one member comes or goes.
  const hostedBy = new Map<string, Set<string>>();
  const isMember = (networkId: string, hostId: string): boolean => {
    if (!gossips(state, nodeId) || !gossips(state, hostId)) return false;
    const networks = hostedBy.get(hostId) ?? hostedNetworkIds(state, hostId);
    hostedBy.set(hostId, networks);
    return networks.has(networkId);
  };
  const members: MemberView[] = [];
  const removedMembers: MemberRef[] = [];
  for (const [networkId, hosts] of candidates) {
    for (const hostId of hosts) {
      if (isMember(networkId, hostId)) members.push(toMemberView(networkId, state.node(hostId)));
      else removedMembers.push({ networkId, nodeId: hostId });
    }
  }
  return { members, removedMembers };
}

function serviceChanges(
  state: StoreState,
  nodeId: string,
  hosted: ReadonlySet<string>,
  whole: ReadonlySet<string>,
  changes: Changes,
): { services: ServiceView[]; removedServiceIds: string[] } {
  const known = state.nodes.has(nodeId);
  const candidates = new Set(changes.services);
  for (const networkId of whole) for (const service of state.servicesOnNetwork(networkId)) candidates.add(service.id);
  // A network that gained or lost an endpoint and is not hosted now may have been hosted before.
  for (const networkId of new Set(changes.endpoints.values())) {
    if (!hosted.has(networkId)) for (const service of state.servicesOnNetwork(networkId)) candidates.add(service.id);
  }
  // A node removed meanwhile may hold the services every node sees.
  if (!known && changes.nodes.has(nodeId)) for (const serviceId of state.ingressServiceIds) candidates.add(serviceId);
  const services: ServiceView[] = [];
  const removedServiceIds: string[] = [];
  for (const serviceId of candidates) {
    const service = state.services.get(serviceId);
    if (service && known && isServiceVisible(state, service, hosted)) services.push(toServiceView(state, service, hosted));
    else removedServiceIds.push(serviceId);
  }
  return { services, removedServiceIds };
}

/**
 * How the backends of ingress services on networks the node does not host changed (it holds them
 * to forward its ingress ports to their nodes; those of hosted networks come with their network):
 * - a backend written is sent as it is now while its service publishes an ingress port, else as
 *   removed (when the node may hold it: its service publishes one now or did meanwhile);
 * - a service that gained its first ingress port sends all such backends, one that lost its last
 *   sends them as removed;
 * - a network the node stopped hosting took its backends along (the agent drops a network with its
 *   endpoints): they are sent again;
 * - a backend whose node changed address is sent again (its vtep changed);
 * - a node that is not (or no longer) registered holds none.
 */
function meshBackendChanges(
  state: StoreState,
  nodeId: string,
  hosted: ReadonlySet<string>,
  changes: Changes,
  cache: NetworkEndpointsCache,
): { endpoints: EndpointView[]; removed: string[] } {
  const sent = new Map<string, EndpointView>();
  const removed = new Set<string>();
  const outside = (networkId: string | undefined): boolean => networkId !== undefined && !hosted.has(networkId);
  for (const [endpointId, serviceId] of changes.backends) {
    if (!outside(changes.endpoints.get(endpointId))) continue;
    const endpoint = state.endpoints.get(endpointId);
    if (endpoint && isMeshBackend(state, endpoint)) sent.set(endpointId, toEndpointView(state, endpoint));
    else if (state.ingressServiceIds.has(serviceId) || changes.ingressServices.has(serviceId)) removed.add(endpointId);
  }
  for (const serviceId of changes.ingressServices) {
    const service = state.services.get(serviceId);
    // A service goes only once it has no backends left: their removals are above.
    if (!service) continue;
    const ingress = state.ingressServiceIds.has(serviceId);
    for (const networkId of service.networkIds.filter(outside)) {
      for (const view of serviceBackendViews(state, serviceId, networkId, cache)) {
        if (ingress) sent.set(view.id, view);
        else removed.add(view.id);
      }
    }
  }
  const left = new Set<string>();
  for (const [endpointId, networkId] of changes.endpoints) if (changes.endpointNodes.get(endpointId) === nodeId && outside(networkId)) left.add(networkId);
  for (const networkId of left) {
    for (const service of state.servicesOnNetwork(networkId)) {
      if (state.ingressServiceIds.has(service.id)) for (const view of serviceBackendViews(state, service.id, networkId, cache)) sent.set(view.id, view);
    }
  }
  for (const changedNodeId of changes.nodes) {
    for (const sandbox of state.sandboxesOfNode(changedNodeId)) {
      for (const endpoint of state.endpointsOfSandbox(sandbox.id)) {
        if (outside(endpoint.networkId) && isMeshBackend(state, endpoint)) sent.set(endpoint.id, toEndpointView(state, endpoint));
      }
    }
  }
  if (!state.nodes.has(nodeId)) {
    // Removed meanwhile, it may hold what the routing mesh had then: any of these, and any backend
    // a node would have been sent or told to remove above (also of a service whose last ingress
    // port went in the same run).
    if (changes.nodes.has(nodeId)) for (const view of meshBackendViews(state, hosted, cache)) removed.add(view.id);
    return { endpoints: [], removed: [...removed, ...sent.keys()] };
  }
  return { endpoints: [...sent.values()], removed: [...removed] };
}
