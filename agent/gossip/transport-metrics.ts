/**
 * What the hyperswarm transport reports, for the agent's metrics (prom-client counters and
 * gauges behind it). Bytes are wire bytes of gossip frames (header included), per peer.
 */
export interface GossipTransportMetrics {
  /** A member's link came up or went down. */
  linkChanged(nodeId: string, up: boolean): void;
  bytesSent(nodeId: string, bytes: number): void;
  bytesReceived(nodeId: string, bytes: number): void;
  /** The firewall refused a peer (incoming or outgoing): its key is no current member's. */
  peerRefused(publicKey: string): void;
  /** A link was closed because the peer announced a message above the bound. */
  frameRefused(nodeId: string, length: number): void;
}

export const NO_TRANSPORT_METRICS: GossipTransportMetrics = {
  linkChanged: () => undefined,
  bytesSent: () => undefined,
  bytesReceived: () => undefined,
  peerRefused: () => undefined,
  frameRefused: () => undefined,
};

/**
 * Peers per topic (per network): one link to a member carries every network the two share, so a
 * network's peers are its members (from the view) that have a link now.
 */
export function peersPerTopic(linked: ReadonlySet<string>, membersByTopic: ReadonlyMap<string, readonly string[]>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [topic, members] of membersByTopic) counts.set(topic, members.filter((nodeId) => linked.has(nodeId)).length);
  return counts;
}
