import type { StoreState, Touched } from './state';
import { gossips, hostedNetworkIds } from './views';

/**
 * The nodes whose view (views.ts `nodeView`) may differ after writes `touched`,
 * computed on the state after them. A view shows the node's record, its
 * sandboxes, the networks it has endpoints on and every endpoint of those
 * networks with its sandbox's node's address (but those gossip brings: `leftToGossip`),
 * and for a gossiping node its fellow members there with their keys and addresses,
 * so a view can change only if:
 * - the node's record or set of sandboxes changed (touched.nodes);
 * - a network it hosts now was created or removed, or gained, lost or changed an endpoint the view
 *   shows: one whose owner does not gossip, or any when the node does not gossip (hosts of the
 *   endpoint's network, after the change); an endpoint of a gossiping owner that may have made it
 *   come to or leave the network (its only one there, or its last) changes its members, so it
 *   reaches every host;
 * - it stopped hosting a network: it lost its last endpoint there, whose sandbox
 *   is on it (touched.sandboxes → node, or the sandbox's own removal touched it);
 * - a node hosting endpoints on one of its networks changed address, or gossip key, or started or
 *   stopped gossiping (touched.nodeRecords);
 * - a service on one of its networks was created, changed or removed (touched.serviceChanges);
 * - a network was created or removed anywhere, or a service with an ingress port or one of its
 *   backends changed: see `affectsEveryNode`.
 * Conservative: some of these nodes may see an identical view.
 */
export function affectedNodes(state: StoreState, touched: Touched): Set<string> {
  const nodes = new Set(touched.nodes);
  /** Every host of these sees the change. */
  const networks = new Set(touched.networkRecords);
  /** Only the hosts of these that do not gossip see it: gossip brings it to the others. */
  const gossiped = new Set<string>();
  for (const serviceNetworks of touched.serviceChanges.values()) for (const networkId of serviceNetworks) networks.add(networkId);
  for (const sandboxId of touched.sandboxes) {
    const sandbox = state.sandboxes.get(sandboxId);
    if (sandbox) nodes.add(sandbox.nodeId);
  }
  for (const nodeId of touched.nodeRecords) for (const networkId of hostedNetworkIds(state, nodeId)) networks.add(networkId);
  for (const [endpointId, networkId] of touched.endpointChanges) {
    const ownerId = touched.endpointNodes.get(endpointId);
    if (ownerId === undefined || !gossips(state, ownerId) || mayHaveComeOrGone(state, endpointId, ownerId, networkId)) networks.add(networkId);
    else gossiped.add(networkId);
  }
  for (const networkId of networks) gossiped.delete(networkId);
  for (const networkId of [...networks, ...gossiped]) {
    for (const endpoint of state.endpointsOfNetwork(networkId)) {
      const sandbox = state.sandboxes.get(endpoint.sandboxId);
      if (sandbox && (networks.has(networkId) || !gossips(state, sandbox.nodeId))) nodes.add(sandbox.nodeId);
    }
  }
  return nodes;
}

/**
 * Whether a write of an endpoint of the node's on the network may have made the node come to the
 * network (the endpoint is its only one there now) or leave it (it was removed, and was the last).
 */
function mayHaveComeOrGone(state: StoreState, endpointId: string, nodeId: string, networkId: string): boolean {
  let count = 0;
  for (const sandbox of state.sandboxesOfNode(nodeId)) {
    for (const endpoint of state.endpointsOfSandbox(sandbox.id)) if (endpoint.networkId === networkId) count += 1;
  }
  return count === (state.endpoints.has(endpointId) ? 1 : 0);
}

/**
 * Whether writes `touched` (computed on the state after them) may change every node's view, hosts
 * or not:
 * - each view lists every overlay subnet of the cluster (so agents can keep sandboxes off all of
 *   them), and a network record written (created or removed) changes that list;
 * - each view holds every service that publishes an ingress port, with its backends wherever they
 *   are (the routing mesh answers on every node), so writing such a service (also the write that
 *   takes its last ingress port away), one of its backends, or the address of a node running one
 *   changes every view.
 */
export function affectsEveryNode(state: StoreState, touched: Touched): boolean {
  if (touched.networkRecords.size > 0 || touched.ingressServices.size > 0) return true;
  for (const serviceId of touched.backendChanges.values()) if (state.ingressServiceIds.has(serviceId)) return true;
  for (const nodeId of touched.nodeRecords) {
    for (const sandbox of state.sandboxesOfNode(nodeId)) {
      for (const endpoint of state.endpointsOfSandbox(sandbox.id)) if (state.ingressServiceIds.has(endpoint.serviceId)) return true;
    }
  }
  return false;
}
