import type { GossipChanges, GossipSnapshot } from '../../proto/gen/trellis/v1/gossip';
import { compareVersions, type EndpointRecord, type Version } from './model';

/** Changes held back while what precedes them is missing; anti-entropy brings the rest. */
const MAX_PENDING = 32;

/**
 * What this node holds of one owner's set on one network. Invariant: `entries` is exactly the
 * owner's set at `version` (or nothing, before anything arrived). It only moves forward, to
 * the owner's set at a later version: a snapshot newer than what is held replaces it, and
 * changes (since, version] apply only on top of a set at a version in [since, version). So no
 * message, however late, duplicated or reordered, can bring back an entry the owner deleted:
 * that would take the owner's set at an older version than the one held. Changes that arrive
 * before what precedes them wait (at most MAX_PENDING), so the outcome of a set of messages
 * does not depend on their order.
 */
export class Replica {
  private held: Version | undefined;
  private heldRevision = 0;
  private readonly entries = new Map<string, EndpointRecord>();
  private pending: GossipChanges[] = [];

  get version(): Version | undefined {
    return this.held;
  }

  /** The owner's view revision at which the set held is the managers' truth (GossipSnapshot.revision). */
  get revision(): number {
    return this.heldRevision;
  }

  records(): EndpointRecord[] {
    return [...this.entries.values()];
  }

  /** True when the set changed. */
  applySnapshot(snapshot: GossipSnapshot): boolean {
    const version = snapshot.version;
    if (!version || (this.held && compareVersions(version, this.held) <= 0)) return false;
    this.held = version;
    this.heldRevision = snapshot.revision;
    this.entries.clear();
    for (const entry of snapshot.entries) this.entries.set(entry.endpointId, { ...entry });
    this.drainPending();
    return true;
  }

  /** True when the set changed; `gap` when older changes are missing (ask the owner). */
  applyChanges(changes: GossipChanges): { changed: boolean; gap: boolean } {
    if (!changes.since || !changes.version || compareVersions(changes.since, changes.version) >= 0) return { changed: false, gap: false };
    if (this.held && compareVersions(this.held, changes.version) >= 0) return { changed: false, gap: false };
    if (!this.held || compareVersions(this.held, changes.since) < 0) {
      this.pending = [...this.pending, changes].slice(-MAX_PENDING);
      return { changed: false, gap: true };
    }
    this.apply(changes);
    this.drainPending();
    return { changed: true, gap: false };
  }

  private apply(changes: GossipChanges): void {
    for (const entry of changes.upserts) this.entries.set(entry.endpointId, { ...entry });
    for (const id of changes.deletedEndpointIds) this.entries.delete(id);
    this.held = changes.version;
    this.heldRevision = changes.revision;
  }

  private drainPending(): void {
    for (;;) {
      const held = this.held;
      if (!held) return;
      this.pending = this.pending.filter((changes) => changes.version && compareVersions(changes.version, held) > 0);
      const next = this.pending.find((changes) => changes.since && compareVersions(changes.since, held) <= 0);
      if (!next) return;
      this.apply(next);
    }
  }
}
