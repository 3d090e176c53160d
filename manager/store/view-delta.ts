import type { EndpointView, ServiceView, ViewDelta } from '../../proto/gen/trellis/v1/dispatcher';
import type { Changes } from './journal';
import type { StoreState } from './state';
import {
  hostedNetworkIds,
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
 * Turns an agent's view at `fromRevision` into its view now, given everything written
 * in between. Whatever the agent held at `fromRevision`:
 * - a network it hosts now but may not have hosted then gained a local endpoint in
 *   between, so such networks are sent whole;
 * - an endpoint or sandbox that changed is sent as it is now, or as removed;
 * - an endpoint whose node changed address is sent again (its vtep changed);
 * - networks it no longer hosts are absent from `networkIds`: the agent drops them
 *   with their endpoints;
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
  for (const [endpointId, networkId] of changes.endpoints) {
    const endpoint = state.endpoints.get(endpointId);
    if (endpoint && hosted.has(networkId) && state.sandbox(endpoint.sandboxId).nodeId === nodeId) whole.add(networkId);
  }

  const endpoints = new Map<string, EndpointView>();
  const removedEndpointIds: string[] = [];
  for (const networkId of whole) for (const view of networkEndpointViews(state, networkId, cache)) endpoints.set(view.id, view);
  for (const [endpointId, networkId] of changes.endpoints) {
    if (!hosted.has(networkId)) continue;
    const endpoint = state.endpoints.get(endpointId);
    // A network sent whole still names its removed endpoints: the agent keeps what it held of it.
    if (!endpoint) removedEndpointIds.push(endpointId);
    else if (!whole.has(networkId)) endpoints.set(endpointId, toEndpointView(state, endpoint));
  }
  for (const changedNodeId of changes.nodes) {
    for (const sandbox of state.sandboxesOfNode(changedNodeId)) {
      for (const endpoint of state.endpointsOfSandbox(sandbox.id)) {
        if (hosted.has(endpoint.networkId) && !endpoints.has(endpoint.id)) endpoints.set(endpoint.id, toEndpointView(state, endpoint));
      }
    }
  }

  const mesh = meshBackendChanges(state, nodeId, hosted, changes, cache);
  for (const view of mesh.endpoints) endpoints.set(view.id, view);
  removedEndpointIds.push(...mesh.removed);

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
    members: [],
    removedMembers: [],
    more: false,
  };
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
  if (!state.nodes.has(nodeId)) {
    if (changes.nodes.has(nodeId)) for (const view of meshBackendViews(state, hosted, cache)) removed.add(view.id);
    for (const endpointId of changes.backends.keys()) if (outside(changes.endpoints.get(endpointId))) removed.add(endpointId);
    return { endpoints: [], removed: [...removed] };
  }
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
  return { endpoints: [...sent.values()], removed: [...removed] };
}
