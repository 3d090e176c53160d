import type { EndpointView, MemberProgrammed, ViewChunk, ViewDelta } from '../../proto/gen/trellis/v1/dispatcher';
import { gossipEntryDigest } from '../../proto/runtime/gossip-digest';
import { gossipEntryOf } from '../../proto/runtime/gossip-entry';

export type ViewMessage = { $case: 'delta'; value: ViewDelta } | { $case: 'resync'; value: ViewChunk };

/**
 * Stands in for gossip among fake agents that say they gossip. They program nothing, but report
 * what real members would once an owner's gossip reached them: each agent keeps the endpoints it
 * owns from its view (a gossiping node's view holds them), and when a delta changes them on a
 * network, every other gossiping agent hosting that network reports the owner's new digest there
 * (ProgrammedReport.members) at once, as if gossip took no time and no leader. A whole view (a
 * session opening) announces every set the node owns, as a real agent's anti-entropy on connect
 * does: the members already there learn the newcomer's entries from it, not from the leader (the
 * newcomer learns theirs from the leader's whole MemberDigests, which the fake agents report).
 */
export class FakeGossip {
  /** Per node: per network, its own endpoints there. */
  private readonly own = new Map<string, Map<string, Map<string, EndpointView>>>();
  /** Per node: the networks whose own endpoints the view being received changed. */
  private readonly changed = new Map<string, Set<string>>();

  /** `program(memberId, member)`: the member programmed the owner's set and reports it. */
  constructor(private readonly program: (memberId: string, member: MemberProgrammed) => void) {}

  /** A view message (a delta, or a resync's part) the node received. */
  update(nodeId: string, message: ViewMessage): void {
    let networks = this.own.get(nodeId);
    if (!networks || (message.$case === 'resync' && message.value.first)) {
      networks = new Map();
      this.own.set(nodeId, networks);
    }
    const changed = this.changed.get(nodeId) ?? new Set<string>();
    this.changed.set(nodeId, changed);
    const endpoints = message.$case === 'delta' ? message.value.endpoints : (message.value.part?.endpoints ?? []);
    for (const endpoint of endpoints) {
      if (endpoint.nodeId !== nodeId) continue;
      const set = networks.get(endpoint.networkId) ?? new Map<string, EndpointView>();
      networks.set(endpoint.networkId, set.set(endpoint.id, endpoint));
      changed.add(endpoint.networkId);
    }
    if (message.$case !== 'delta') return;
    const hosted = new Set(message.value.networkIds);
    for (const [networkId, set] of networks) {
      if (!hosted.has(networkId)) networks.delete(networkId);
      else if (message.value.removedEndpointIds.some((id) => set.delete(id))) changed.add(networkId);
    }
  }

  /** The node's view is complete: after a delta, its members report its changed sets. */
  viewComplete(nodeId: string, message: ViewMessage, membersOn: (networkId: string) => string[]): void {
    const changed = this.changed.get(nodeId) ?? new Set<string>();
    this.changed.delete(nodeId);
    const announced = message.$case === 'delta' ? changed : new Set(this.own.get(nodeId)?.keys());
    for (const networkId of announced) {
      const entries = [...(this.own.get(nodeId)?.get(networkId)?.values() ?? [])].map((view) => gossipEntryOf(view, false));
      const digest = gossipEntryDigest(entries);
      for (const memberId of membersOn(networkId)) this.program(memberId, { networkId, ownerNodeId: nodeId, digest });
    }
  }
}
