/**
 * What the gossip protocol (agent/gossip/ core) needs from the network, and what the hyperswarm
 * transport provides: authenticated, member-only, message-framed links between agents. The
 * core never sees hyperswarm; its tests drive it over an in-process transport that loses,
 * duplicates and reorders.
 */
export interface GossipMember {
  nodeId: string;
  /** The node's gossip public key (32 bytes, hex), registered with the managers. */
  publicKey: string;
}

export interface GossipTransport {
  /** This node's key pair's public half (hex), to register with the managers. */
  readonly publicKey: string;
  /**
   * The current members (from the managers' view): only they may connect; a peer that is no
   * longer one is disconnected at once. Replaces the previous set.
   */
  setMembers(members: readonly GossipMember[]): void;
  /** Find and connect to members sharing `topic` (one per network), until left. */
  join(topic: string): Promise<void>;
  leave(topic: string): Promise<void>;
  /** Sends one message to a connected member; false when there is no connection to it now. */
  send(nodeId: string, message: Uint8Array): boolean;
  onMessage(handler: (fromNodeId: string, message: Uint8Array) => void): void;
  /** A member's connection came up (anti-entropy starts) or went down. */
  onPeer(handler: (nodeId: string, connected: boolean) => void): void;
  close(): Promise<void>;
}
