import type { GossipEntry } from '../../proto/gen/trellis/v1/gossip';
import type { Store } from '../store';

/** What the leader's gossip judgment reads of the store. */
export interface GossipStore {
  readonly revision: number;
  /** The node registered a gossip key (its agent gossips). */
  gossips(nodeId: string): boolean;
  hostedNetworks(nodeId: string): ReadonlySet<string>;
  /** Ids of the nodes with an endpoint on the network. */
  hostIds(networkId: string): ReadonlySet<string>;
  /** The node owning an endpoint, if it exists. */
  endpointOwner(endpointId: string): string | undefined;
  /** The owner's endpoints on the network with their creation revisions. */
  ownedEndpoints(networkId: string, ownerId: string): { id: string; createdRevision: number }[];
  /** The owner's endpoints on the network as members gossip them (ready = false). */
  memberEntries(networkId: string, ownerId: string): GossipEntry[];
}

/**
 * The store as the gossip judgment reads it, memoized for one revision: a change makes it ask about
 * the same nodes and networks once per member.
 */
export class StoreReader implements GossipStore {
  private at = -1;
  private readonly keys = new Map<string, boolean>();
  private readonly hosted = new Map<string, ReadonlySet<string>>();
  private readonly hosts = new Map<string, ReadonlySet<string>>();
  private readonly owners = new Map<string, ReadonlyMap<string, { nodeId: string; createdRevision: number }>>();

  constructor(private readonly store: () => Store) {}

  get revision(): number {
    return this.store().revision;
  }

  gossips(nodeId: string): boolean {
    return this.memo(this.keys, nodeId, () => Boolean(this.store().node(nodeId)?.gossipPublicKey));
  }

  hostedNetworks(nodeId: string): ReadonlySet<string> {
    return this.memo(this.hosted, nodeId, () => this.store().hostedNetworks(nodeId));
  }

  hostIds(networkId: string): ReadonlySet<string> {
    return this.memo(this.hosts, networkId, () => new Set([...this.endpointsOf(networkId).values()].map((endpoint) => endpoint.nodeId)));
  }

  endpointOwner(endpointId: string): string | undefined {
    const networkId = this.store().endpointNetwork(endpointId);
    return networkId === undefined ? undefined : this.endpointsOf(networkId).get(endpointId)?.nodeId;
  }

  ownedEndpoints(networkId: string, ownerId: string): { id: string; createdRevision: number }[] {
    return [...this.endpointsOf(networkId)].flatMap(([id, { nodeId, createdRevision }]) => (nodeId === ownerId ? [{ id, createdRevision }] : []));
  }

  private endpointsOf(networkId: string): ReadonlyMap<string, { nodeId: string; createdRevision: number }> {
    return this.memo(this.owners, networkId, () => new Map(this.store().networkEndpointNodes(networkId).map(({ id, nodeId, createdRevision }) => [id, { nodeId, createdRevision }])));
  }

  memberEntries(networkId: string, ownerId: string): GossipEntry[] {
    // Stand-in until the store's own helper lands.
    return this.store()
      .nodeView(ownerId)
      .endpoints.filter((endpoint) => endpoint.networkId === networkId && endpoint.nodeId === ownerId)
      .map((endpoint) => ({
        endpointId: endpoint.id,
        ip: endpoint.ip,
        mac: endpoint.mac,
        vtep: endpoint.vtep,
        sandboxId: endpoint.sandboxId,
        sandboxName: endpoint.sandboxName,
        hostname: endpoint.hostname,
        aliases: endpoint.aliases,
        serviceId: endpoint.serviceId,
        draining: endpoint.draining,
        prefixLength: endpoint.prefixLength,
        ready: false,
      }));
  }

  private memo<T>(cache: Map<string, T>, key: string, compute: () => T): T {
    const revision = this.store().revision;
    if (revision !== this.at) {
      this.at = revision;
      this.keys.clear();
      this.hosted.clear();
      this.hosts.clear();
      this.owners.clear();
    }
    let value = cache.get(key);
    if (value === undefined) cache.set(key, (value = compute()));
    return value;
  }
}
