import type { MemberRef } from '../../proto/gen/trellis/v1/dispatcher';
import type { GossipEntry } from '../../proto/gen/trellis/v1/gossip';
import { gossipEntryDigest } from '../../proto/runtime/gossip-digest';
import { gossipEntryOf } from '../../proto/runtime/gossip-entry';
import { compareText } from '../../proto/runtime/order';
import type { Changes } from './journal';
import type { StoreState } from './state';
import { byAddress, hostedNetworkIds, toEndpointView } from './views';

/*
 * What the leader judges gossip by: per network and member (the node owning endpoints there),
 * the member's endpoints as the store has them, and their digest.
 */

/**
 * The endpoints `ownerNodeId` owns on the network, by address, as gossip carries them: the fields
 * of their EndpointView (vtep: the owner's advertise address), `ready` false (readiness is the
 * leader's, not the store's). None for an unknown network or node, or one not hosting it.
 */
export function memberEntries(state: StoreState, networkId: string, ownerNodeId: string): GossipEntry[] {
  return state
    .sandboxesOfNode(ownerNodeId)
    .flatMap((sandbox) => state.endpointsOfSandbox(sandbox.id))
    .filter((endpoint) => endpoint.networkId === networkId)
    .sort(byAddress)
    .map((endpoint) => gossipEntryOf(toEndpointView(state, endpoint), false));
}

/** gossipEntryDigest of `memberEntries`: what MemberDigest.digest says now (that of no entries when it owns none there). */
export function memberDigest(state: StoreState, networkId: string, ownerNodeId: string): string {
  return gossipEntryDigest(memberEntries(state, networkId, ownerNodeId));
}

/**
 * The (network, owner) pairs whose entries (`memberEntries`) may differ over `changes`, by network
 * id then node id: an endpoint of the owner's there written, or the owner's record (its address is
 * every entry's vtep). What entries take from other records (a sandbox's name, a network's prefix
 * length) never changes while the endpoint lives. A superset: some digests may come out unchanged.
 * Every owner, whether it gossips or not.
 */
export function changedMemberSets(state: StoreState, changes: Changes): MemberRef[] {
  const pairs = new Map<string, MemberRef>();
  const add = (networkId: string, nodeId: string | undefined): void => {
    if (nodeId !== undefined) pairs.set(JSON.stringify([networkId, nodeId]), { networkId, nodeId });
  };
  for (const [endpointId, networkId] of changes.endpoints) add(networkId, changes.endpointNodes.get(endpointId));
  for (const nodeId of changes.nodes) for (const networkId of hostedNetworkIds(state, nodeId)) add(networkId, nodeId);
  return [...pairs.values()].sort((a, b) => compareText(a.networkId, b.networkId) || compareText(a.nodeId, b.nodeId));
}
