import type { GossipEntry } from '../../proto/gen/trellis/v1/gossip';
import type { Changes, Store } from '../store';

/** What the leader's gossip judgment reads of the store. */
export interface GossipStore {
  readonly revision: number;
  /** The node registered a gossip key (its agent gossips). */
  gossips(nodeId: string): boolean;
  hostedNetworks(nodeId: string): ReadonlySet<string>;
  /** Ids of the nodes with an endpoint on the network. */
  hostIds(networkId: string): ReadonlySet<string>;
  /** The network of an endpoint and the node owning it, if it exists. */
  endpointPlace(endpointId: string): { networkId: string; ownerId: string } | undefined;
  /** The owner's endpoints on the network with their creation revisions. */
  ownedEndpoints(networkId: string, ownerId: string): { id: string; createdRevision: number }[];
  /** The owner's endpoints on the network as members gossip them (ready = false). */
  memberEntries(networkId: string, ownerId: string): GossipEntry[];
  /** The (network, owner) pairs whose entries `changes` may have changed (a superset). */
  changedPairs(changes: Changes): { networkId: string; ownerId: string }[];
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
  /** Per network: each owner's endpoints there (asked once per lagging pair by every listing of the nodes). */
  private readonly owned = new Map<string, ReadonlyMap<string, { id: string; createdRevision: number }[]>>();

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

  endpointPlace(endpointId: string): { networkId: string; ownerId: string } | undefined {
    const networkId = this.store().endpointNetwork(endpointId);
    const ownerId = networkId === undefined ? undefined : this.endpointsOf(networkId).get(endpointId)?.nodeId;
    return networkId === undefined || ownerId === undefined ? undefined : { networkId, ownerId };
  }

  ownedEndpoints(networkId: string, ownerId: string): { id: string; createdRevision: number }[] {
    const byOwner = this.memo(this.owned, networkId, () => {
      const index = new Map<string, { id: string; createdRevision: number }[]>();
      for (const [id, { nodeId, createdRevision }] of this.endpointsOf(networkId)) {
        const list = index.get(nodeId);
        if (list) list.push({ id, createdRevision });
        else index.set(nodeId, [{ id, createdRevision }]);
      }
      return index;
    });
    return byOwner.get(ownerId) ?? [];
  }

  private endpointsOf(networkId: string): ReadonlyMap<string, { nodeId: string; createdRevision: number }> {
    return this.memo(this.owners, networkId, () => new Map(this.store().networkEndpointNodes(networkId).map(({ id, nodeId, createdRevision }) => [id, { nodeId, createdRevision }])));
  }

  memberEntries(networkId: string, ownerId: string): GossipEntry[] {
    return this.store().memberEntries(networkId, ownerId);
  }

  changedPairs(changes: Changes): { networkId: string; ownerId: string }[] {
    return this.store()
      .changedMemberSets(changes)
      .map(({ networkId, nodeId }) => ({ networkId, ownerId: nodeId }));
  }

  private memo<T>(cache: Map<string, T>, key: string, compute: () => T): T {
    const revision = this.store().revision;
    if (revision !== this.at) {
      this.at = revision;
      this.keys.clear();
      this.hosted.clear();
      this.hosts.clear();
      this.owners.clear();
      this.owned.clear();
    }
    let value = cache.get(key);
    if (value === undefined) cache.set(key, (value = compute()));
    return value;
  }
}
