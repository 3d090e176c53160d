import type { EndpointView, ServiceView, ViewDelta } from '../../proto/gen/trellis/v1/dispatcher';
import type { Changes } from './journal';
import type { StoreState } from './state';
import {
  hostedNetworkIds,
  isServiceVisible,
  networkEndpointViews,
  overlaySubnetsFor,
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
 *   removed when it is gone or on no hosted network any more.
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

  const { services, removedServiceIds } = serviceChanges(state, hosted, whole, changes);

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
    more: false,
  };
}

function serviceChanges(
  state: StoreState,
  hosted: ReadonlySet<string>,
  whole: ReadonlySet<string>,
  changes: Changes,
): { services: ServiceView[]; removedServiceIds: string[] } {
  const candidates = new Set(changes.services);
  for (const networkId of whole) for (const service of state.servicesOnNetwork(networkId)) candidates.add(service.id);
  // A network that gained or lost an endpoint and is not hosted now may have been hosted before.
  for (const networkId of new Set(changes.endpoints.values())) {
    if (!hosted.has(networkId)) for (const service of state.servicesOnNetwork(networkId)) candidates.add(service.id);
  }
  const services: ServiceView[] = [];
  const removedServiceIds: string[] = [];
  for (const serviceId of candidates) {
    const service = state.services.get(serviceId);
    if (service && isServiceVisible(service, hosted)) services.push(toServiceView(state, service, hosted));
    else removedServiceIds.push(serviceId);
  }
  return { services, removedServiceIds };
}
