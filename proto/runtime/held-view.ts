import { compareText } from './order';
import type { EndpointReadiness, EndpointView, MemberRef, MemberView, NetworkView, NodeView, SandboxView, ServiceView, ViewChunk, ViewDelta } from '../gen/trellis/v1/dispatcher';

/**
 * A node's desired view as the session stream builds it: a resync's chunks replace
 * it, each delta updates it. Shared by the agent, which holds one, and the
 * manager's tests, which check that deltas rebuild exactly the view the store computes.
 */
export class HeldView {
  private nodeId = '';
  private nodeName = '';
  private advertiseAddr = '';
  private heldRevision = 0;
  private networks = new Map<string, NetworkView>();
  private sandboxes = new Map<string, SandboxView>();
  private endpoints = new Map<string, EndpointView>();
  private services = new Map<string, ServiceView>();
  /** Keyed by memberKey. */
  private members = new Map<string, MemberView>();
  private overlaySubnets: string[] = [];
  /** The resync being received, until its last chunk. */
  private assembling: NodeView | undefined;
  /** The parts of a delta received so far, until its last part. */
  private deltaParts: ViewDelta[] = [];
  /**
   * Endpoints of the view the manager says are ready. Kept across sessions (each new session
   * starts with a whole set that replaces it); an endpoint leaving the view leaves it too.
   */
  private ready = new Set<string>();

  /** The revision of the view held; 0 before the first one arrives. */
  get revision(): number {
    return this.heldRevision;
  }

  /** Adds a resync chunk; on the last one the assembled view replaces the held one and is returned. */
  applyChunk(chunk: ViewChunk): NodeView | undefined {
    const part = chunk.part;
    if (!part) throw new Error('resync chunk without a view part');
    if (chunk.first) this.assembling = { ...part, networks: [], sandboxes: [], endpoints: [], overlaySubnets: [], services: [], members: [] };
    const view = this.assembling;
    if (!view) throw new Error('resync chunk arrived without its first chunk');
    view.networks.push(...part.networks);
    view.sandboxes.push(...part.sandboxes);
    view.endpoints.push(...part.endpoints);
    view.overlaySubnets.push(...part.overlaySubnets);
    view.services.push(...part.services);
    view.members.push(...part.members);
    if (!chunk.last) return undefined;
    this.assembling = undefined;
    this.nodeId = view.nodeId;
    this.nodeName = view.nodeName;
    this.advertiseAddr = view.advertiseAddr;
    this.heldRevision = view.revision;
    this.networks = new Map(view.networks.map((network) => [network.id, network]));
    this.sandboxes = new Map(view.sandboxes.map((sandbox) => [sandbox.id, sandbox]));
    this.endpoints = new Map(view.endpoints.map((endpoint) => [endpoint.id, endpoint]));
    this.overlaySubnets = view.overlaySubnets;
    this.services = new Map(view.services.map((service) => [service.id, service]));
    this.members = new Map(view.members.map((member) => [memberKey(member), member]));
    this.keepReadyInView();
    return this.view();
  }

  /**
   * Holds `view` as if a session had brought it, with `readyEndpointIds` ready: an agent restarted
   * with every manager down starts from the view it saved (agent/session/view-file.ts), and its
   * next session resumes from that view's revision.
   */
  adopt(view: NodeView, readyEndpointIds: readonly string[]): void {
    this.discardPartial();
    this.applyChunk({ part: view, first: true, last: true });
    this.ready = new Set(readyEndpointIds);
    this.keepReadyInView();
  }

  /** Applies a readiness message; whether the ready set changed. */
  applyReadiness(readiness: EndpointReadiness): boolean {
    let changed = false;
    if (readiness.replace) {
      const next = new Set(readiness.readyEndpointIds);
      changed = next.size !== this.ready.size || [...next].some((id) => !this.ready.has(id));
      this.ready = next;
    } else {
      for (const id of readiness.readyEndpointIds) {
        changed ||= !this.ready.has(id);
        this.ready.add(id);
      }
    }
    for (const id of readiness.unreadyEndpointIds) changed = this.ready.delete(id) || changed;
    return changed;
  }

  /** The ready endpoints (the set itself, which later messages change: copy it to keep it). */
  readyEndpoints(): ReadonlySet<string> {
    return this.ready;
  }

  private keepReadyInView(): void {
    for (const id of this.ready) if (!this.endpoints.has(id)) this.ready.delete(id);
  }

  /**
   * A new session: whatever the last one left half-received is dropped (the manager
   * starts afresh from the revision held).
   */
  discardPartial(): void {
    this.assembling = undefined;
    this.deltaParts = [];
  }

  /**
   * Adds a delta part; on the last one (`more` unset) the assembled delta updates the
   * held view, which is returned. Until then nothing changes: a revision is applied
   * whole or not at all.
   */
  applyDelta(part: ViewDelta): NodeView | undefined {
    const [first] = this.deltaParts;
    if (first && (first.revision !== part.revision || first.fromRevision !== part.fromRevision)) {
      throw new Error(`delta part for revisions ${part.fromRevision}→${part.revision} arrived amid the parts of ${first.fromRevision}→${first.revision}`);
    }
    this.deltaParts.push(part);
    if (part.more) return undefined;
    const parts = this.deltaParts;
    this.deltaParts = [];
    return this.applyWhole(parts.length === 1 ? part : joinedDelta(parts));
  }

  private applyWhole(delta: ViewDelta): NodeView {
    this.heldRevision = delta.revision;
    this.nodeName = delta.nodeName;
    this.advertiseAddr = delta.advertiseAddr;
    // A network the node no longer hosts goes with its endpoints. Endpoints of networks it never
    // hosted (backends of services publishing ingress ports) stay until removed by id.
    const hosted = new Set(delta.networkIds);
    const left = new Set([...this.networks.keys()].filter((id) => !hosted.has(id)));
    for (const id of left) this.networks.delete(id);
    if (left.size > 0) for (const [id, endpoint] of this.endpoints) if (left.has(endpoint.networkId)) this.endpoints.delete(id);
    // Its members go with it too (ViewDelta.removed_members).
    if (left.size > 0) for (const [key, member] of this.members) if (left.has(member.networkId)) this.members.delete(key);
    for (const network of delta.networks) this.networks.set(network.id, network);
    for (const sandbox of delta.sandboxes) this.sandboxes.set(sandbox.id, sandbox);
    for (const id of delta.removedSandboxIds) this.sandboxes.delete(id);
    for (const endpoint of delta.endpoints) this.endpoints.set(endpoint.id, endpoint);
    for (const id of delta.removedEndpointIds) this.endpoints.delete(id);
    for (const service of delta.services) this.services.set(service.id, service);
    for (const id of delta.removedServiceIds) this.services.delete(id);
    for (const member of delta.members) this.members.set(memberKey(member), member);
    for (const member of delta.removedMembers) this.members.delete(memberKey(member));
    // A delta carries the whole list, not changes to it.
    this.overlaySubnets = [...delta.overlaySubnets];
    this.keepReadyInView();
    return this.view();
  }

  view(): NodeView {
    return {
      revision: this.heldRevision,
      nodeId: this.nodeId,
      nodeName: this.nodeName,
      advertiseAddr: this.advertiseAddr,
      networks: [...this.networks.values()],
      sandboxes: [...this.sandboxes.values()],
      endpoints: [...this.endpoints.values()],
      overlaySubnets: [...this.overlaySubnets],
      services: [...this.services.values()],
      members: [...this.members.values()].sort(byMember),
    };
  }
}

function joinedDelta(parts: readonly ViewDelta[]): ViewDelta {
  const last = parts[parts.length - 1];
  if (!last) throw new Error('a delta of no parts');
  return {
    ...last,
    networkIds: parts.flatMap((part) => part.networkIds),
    networks: parts.flatMap((part) => part.networks),
    sandboxes: parts.flatMap((part) => part.sandboxes),
    removedSandboxIds: parts.flatMap((part) => part.removedSandboxIds),
    endpoints: parts.flatMap((part) => part.endpoints),
    removedEndpointIds: parts.flatMap((part) => part.removedEndpointIds),
    overlaySubnets: parts.flatMap((part) => part.overlaySubnets),
    services: parts.flatMap((part) => part.services),
    removedServiceIds: parts.flatMap((part) => part.removedServiceIds),
    members: parts.flatMap((part) => part.members),
    removedMembers: parts.flatMap((part) => part.removedMembers),
  };
}

/** Ids hold no NUL: no two members share a key. */
function memberKey(member: MemberRef): string {
  return `${member.networkId}\0${member.nodeId}`;
}

/** The order NodeView.members has: by network id, then node id. */
function byMember(a: MemberRef, b: MemberRef): number {
  return compareText(a.networkId, b.networkId) || compareText(a.nodeId, b.nodeId);
}
