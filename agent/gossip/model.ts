import type { GossipEntry, GossipVersion } from '../../proto/gen/trellis/v1/gossip';

/**
 * One endpoint as its owner announces it: what a peer needs to reach it (its vtep is the
 * owner's underlay address, so remote entries follow an owner that comes back elsewhere) and
 * to name and balance to it.
 */
export type EndpointRecord = GossipEntry;

/** A remote endpoint as this agent programs it, and where the entry came from. */
export interface TableEntry extends EndpointRecord {
  networkId: string;
  ownerNodeId: string;
  /** 'gossip' while the owner's gossip agrees with the managers (or waits), 'manager' during a fallback. */
  source: 'gossip' | 'manager';
}

export type Version = GossipVersion;

/** Versions order by the owner's incarnation, then by its counter within it. */
export function compareVersions(a: Version, b: Version): number {
  return a.epoch !== b.epoch ? a.epoch - b.epoch : a.counter - b.counter;
}

/** One other member of a network as the managers describe it in this node's view (MemberView): who may gossip about the network. */
export interface ManagerMember {
  nodeId: string;
  publicKey: string;
  vtep: string;
}

export interface ManagerNetwork {
  networkId: string;
  /** The other members (this node, if listed, is skipped). */
  members: ManagerMember[];
}

/**
 * The managers' digest (gossipEntryDigest) of the endpoints a member owns on a network, as of
 * `revision` of the store (MemberDigest): what its gossip is judged against.
 */
export interface ManagerDigest {
  networkId: string;
  nodeId: string;
  digest: string;
  revision: number;
}

/** The managers' answer to a fallback request: the member's endpoints on the network at `revision`. */
export interface ManagerEntries {
  networkId: string;
  ownerNodeId: string;
  revision: number;
  entries: EndpointRecord[];
}

/** The figures the wiring exports with prom-client. */
export interface GossipMetrics {
  /** Remote entries programmed from gossip or a fallback, after every change of the tables. */
  entries(count: number): void;
  /** An owner's gossip set began to disagree with the managers' digest for it. */
  digestMismatch(): void;
  /** The agent asked the managers for a member's entries (see Judge). */
  fallback(): void;
  /** Bytes of gossip messages sent or received, by message kind. */
  syncBytes(direction: 'sent' | 'received', kind: 'digest' | 'snapshot' | 'changes', bytes: number): void;
  /** A message refused: from a non-member, about another owner's entries, or undecodable. */
  rejected(reason: 'not-member' | 'not-owner' | 'malformed'): void;
}
