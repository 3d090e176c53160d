import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { GossipMetrics } from '../gossip/model';
import type { GossipTransportMetrics } from '../gossip/transport-metrics';

const DIRECTIONS = ['sent', 'received'] as const;
const KINDS = ['digest', 'snapshot', 'changes'] as const;
/** The core's reasons, and the transport's: a key that is no member's, a frame above the bound. */
const REJECTIONS = ['not-member', 'not-owner', 'malformed', 'unknown-key', 'oversized'] as const;

/**
 * A gossiping agent's metrics, in its AgentMetrics registry. Totals only: a label per peer or per
 * network would grow with the cluster.
 */
export class GossipPromMetrics implements GossipMetrics, GossipTransportMetrics {
  private readonly peers: Gauge;
  private readonly memberCount: Gauge;
  private readonly entryCount: Gauge;
  private readonly bytes: Counter<'direction' | 'kind'>;
  private readonly mismatches: Counter;
  private readonly fallbacks: Counter;
  private readonly rejections: Counter<'reason'>;
  private readonly propagation: Histogram;
  private readonly linked = new Set<string>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.peers = new Gauge({ name: 'trellis_gossip_peers', help: 'Gossip members this agent has a link to now (one link carries every network the two share).', registers });
    this.memberCount = new Gauge({ name: 'trellis_gossip_members', help: 'Other gossiping nodes sharing a network with this one (the managers\' view), each counted once.', registers });
    this.entryCount = new Gauge({ name: 'trellis_gossip_entries', help: 'Remote endpoints programmed from gossip (or from the managers\' answer during a fallback).', registers });
    this.bytes = new Counter({
      name: 'trellis_gossip_sync_bytes_total',
      help: 'Bytes of gossip messages sent and received, by kind: digest (anti-entropy), snapshot (a whole set), changes (a delta).',
      labelNames: ['direction', 'kind'],
      registers,
    });
    this.mismatches = new Counter({ name: 'trellis_gossip_digest_mismatches_total', help: "Times a member's gossiped set began to disagree with the managers' digest of it.", registers });
    this.fallbacks = new Counter({ name: 'trellis_gossip_fallbacks_total', help: "Times the agent asked the managers for a member's endpoints because its gossip kept disagreeing with their digest.", registers });
    this.rejections = new Counter({
      name: 'trellis_gossip_rejected_total',
      help: "Gossip refused: from a non-member of the network (not-member), about another node's entries (not-owner), undecodable (malformed), a peer whose key is no member's (unknown-key), a message above the bound (oversized).",
      labelNames: ['reason'],
      registers,
    });
    this.propagation = new Histogram({
      name: 'trellis_gossip_propagation_seconds',
      help: 'From a remote endpoint (new or changed) first learned here to the end of the reconcile pass that programmed it.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    // Every series exists from the start, so a scrape shows 0 rather than nothing.
    for (const direction of DIRECTIONS) for (const kind of KINDS) this.bytes.inc({ direction, kind }, 0);
    for (const reason of REJECTIONS) this.rejections.inc({ reason }, 0);
  }

  entries(count: number): void {
    this.entryCount.set(count);
  }

  digestMismatch(): void {
    this.mismatches.inc();
  }

  fallback(): void {
    this.fallbacks.inc();
  }

  syncBytes(direction: 'sent' | 'received', kind: 'digest' | 'snapshot' | 'changes', bytes: number): void {
    this.bytes.inc({ direction, kind }, bytes);
  }

  rejected(reason: (typeof REJECTIONS)[number]): void {
    this.rejections.inc({ reason });
  }

  members(count: number): void {
    this.memberCount.set(count);
  }

  propagated(seconds: readonly number[]): void {
    for (const value of seconds) this.propagation.observe(value);
  }

  linkChanged(nodeId: string, up: boolean): void {
    if (up) this.linked.add(nodeId);
    else this.linked.delete(nodeId);
    this.peers.set(this.linked.size);
  }

  // The transport's wire bytes are the core's messages plus a frame header each: sync_bytes counts those, by kind.
  bytesSent(): void {}

  bytesReceived(): void {}

  peerRefused(): void {
    this.rejected('unknown-key');
  }

  frameRefused(): void {
    this.rejected('oversized');
  }
}
