import type { GossipChanges, GossipSnapshot } from '../../proto/gen/trellis/v1/gossip';
import { gossipEntryDigest } from '../../proto/runtime/gossip-digest';
import { compareVersions, type EndpointRecord, type Version } from './model';

interface OwnEntry {
  record: EndpointRecord;
  version: Version;
}

interface Tombstone {
  version: Version;
  deletedAtMs: number;
}

interface OwnNetwork {
  version: Version;
  /** The view revision the set was last changed at (GossipSnapshot.revision). */
  revision: number;
  entries: Map<string, OwnEntry>;
  tombstones: Map<string, Tombstone>;
  /** Every tombstone at or below this version may be gone: changes since older versions are sent as snapshots. */
  horizon: Version;
}

/**
 * The entries this node owns, per network, and their history as far as peers need it.
 *
 * Versions are one counter per owner (not per entry), under the owner's incarnation `epoch`:
 * every batch of changes to a network takes the next counter value, so a network's set has a
 * single version that a peer's digest names in one number, and "everything after version v"
 * is well defined. A restart takes a new epoch (kept in the state directory, one more at every
 * start), so versions are never reused even though the counter starts again at 0.
 *
 * Deletions leave tombstones so that a peer a few versions behind gets only what changed;
 * they are purged after `tombstoneTtlMs`. Purging never loses a delete: a peer whose version
 * is older than the newest purged tombstone (the horizon), or from another epoch, gets the
 * whole set as a snapshot, which replaces what it holds.
 */
export class OwnEntries {
  private readonly networks = new Map<string, OwnNetwork>();
  private counter = 0;

  constructor(
    readonly ownerNodeId: string,
    readonly epoch: number,
    private readonly tombstoneTtlMs: number,
  ) {}

  /** Where every network starts in this incarnation: empty, below anything it will announce. */
  private get origin(): Version {
    return { epoch: this.epoch, counter: 0 };
  }

  /**
   * Sets every endpoint this node owns (the managers' view of its own endpoints, at view revision
   * `revision`); networks left out have none. Returns, per network that changed, what to send
   * its members.
   */
  replaceAll(records: ReadonlyMap<string, readonly EndpointRecord[]>, revision: number, nowMs: number): (GossipSnapshot | GossipChanges)[] {
    const out: (GossipSnapshot | GossipChanges)[] = [];
    for (const networkId of new Set([...this.networks.keys(), ...records.keys()])) {
      const message = this.replaceNetwork(networkId, records.get(networkId) ?? [], revision, nowMs);
      if (message) out.push(message);
    }
    return out;
  }

  private replaceNetwork(networkId: string, records: readonly EndpointRecord[], revision: number, nowMs: number): GossipSnapshot | GossipChanges | undefined {
    const known = this.networks.get(networkId);
    const network = known ?? { version: this.origin, revision: 0, entries: new Map(), tombstones: new Map(), horizon: this.origin };
    const wanted = new Map(records.map((record) => [record.endpointId, record]));
    const upserts = [...wanted.values()].filter((record) => !sameRecord(network.entries.get(record.endpointId)?.record, record));
    const deleted = [...network.entries.keys()].filter((id) => !wanted.has(id));
    if (upserts.length === 0 && deleted.length === 0) return undefined;
    const since = network.version;
    const version = { epoch: this.epoch, counter: ++this.counter };
    for (const record of upserts) {
      network.entries.set(record.endpointId, { record: { ...record }, version });
      network.tombstones.delete(record.endpointId);
    }
    for (const id of deleted) {
      network.entries.delete(id);
      network.tombstones.set(id, { version, deletedAtMs: nowMs });
    }
    network.version = version;
    // Only a change of its endpoints or of their readiness (which the view's revision does not
    // count: the set at the same revision) moves it; never back, with the view held by a
    // restarted agent.
    network.revision = Math.max(network.revision, revision);
    this.networks.set(networkId, network);
    // A network's first change in this incarnation is its whole set: peers hold older epochs' sets.
    if (!known) return this.snapshot(networkId);
    return { networkId, ownerNodeId: this.ownerNodeId, since, version, revision: network.revision, upserts: upserts.map((record) => ({ ...record })), deletedEndpointIds: deleted };
  }

  /** The version of this node's set on `networkId` (the origin of this incarnation when it has none). */
  versionOf(networkId: string): Version {
    return this.networks.get(networkId)?.version ?? this.origin;
  }

  /**
   * What a peer holding `held` of this node's set on `networkId` lacks: nothing when it is
   * current, the changes since `held` when every tombstone after it is still kept, else the
   * whole set.
   */
  catchUp(networkId: string, held: Version | undefined): GossipSnapshot | GossipChanges | undefined {
    const network = this.networks.get(networkId);
    const current = network?.version ?? this.origin;
    if (held && compareVersions(held, current) === 0) return undefined;
    if (!network || !held || held.epoch !== this.epoch || compareVersions(held, network.horizon) < 0 || compareVersions(held, current) > 0) {
      return this.snapshot(networkId);
    }
    const after = (version: Version): boolean => compareVersions(version, held) > 0;
    return {
      networkId,
      ownerNodeId: this.ownerNodeId,
      since: held,
      version: current,
      revision: network.revision,
      upserts: [...network.entries.values()].filter((entry) => after(entry.version)).map((entry) => ({ ...entry.record })),
      deletedEndpointIds: [...network.tombstones].filter(([, tombstone]) => after(tombstone.version)).map(([id]) => id),
    };
  }

  snapshot(networkId: string): GossipSnapshot {
    const network = this.networks.get(networkId);
    return {
      networkId,
      ownerNodeId: this.ownerNodeId,
      version: network?.version ?? this.origin,
      revision: network?.revision ?? 0,
      entries: [...(network?.entries.values() ?? [])].map((entry) => ({ ...entry.record })),
    };
  }

  /**
   * Drops tombstones older than the TTL. A network left empty keeps its record (its version):
   * a peer still holding entries of it must learn they are gone.
   */
  purge(nowMs: number): void {
    for (const network of this.networks.values()) {
      for (const [id, tombstone] of network.tombstones) {
        if (nowMs - tombstone.deletedAtMs < this.tombstoneTtlMs) continue;
        network.tombstones.delete(id);
        if (compareVersions(tombstone.version, network.horizon) > 0) network.horizon = tombstone.version;
      }
    }
  }

  networkIds(): string[] {
    return [...this.networks.keys()];
  }
}

function sameRecord(a: EndpointRecord | undefined, b: EndpointRecord): boolean {
  return a !== undefined && a.ready === b.ready && gossipEntryDigest([a]) === gossipEntryDigest([b]);
}
