import { readyOnNetwork, type HostProgramming } from '../api/readiness';

/** An endpoint as the tracker reads it. */
export interface TrackedEndpoint {
  id: string;
  nodeId: string;
  createdRevision: number;
  /** A backend of a service publishing an ingress port: in every node's view (the routing mesh). */
  meshBackend?: boolean;
}

/** What readiness is computed from: the store's endpoints and the agents' reports with their liveness. */
export interface ReadinessSource {
  /** Every endpoint of a network with its node's id (none for a network that is gone). */
  networkEndpointNodes(networkId: string): TrackedEndpoint[];
  /** What a node's agent last reported, and whether it is live; undefined for a node never heard from. */
  programmingOf(nodeId: string): HostProgramming | undefined;
  /** Between gossiping nodes: how far the network's `members` have programmed the owner's endpoints (see `GossipFloor`). */
  gossipFloor?(networkId: string, ownerId: string, members: readonly string[]): number;
}

/** Endpoints that became ready, and those that no longer are. */
export interface ReadinessChange {
  ready: string[];
  unready: string[];
}

/** Per node: endpoints of its networks that became ready, and those that no longer are. */
export type ReadinessChanges = Map<string, ReadinessChange>;

/**
 * The leader's ready endpoints, kept per network: every node hosting a network sees the same ready
 * set of it, so a change is computed once per network and the same changes go to each of its hosts.
 * Only networks a change touched are computed again, and the changes of one turn of the event loop
 * (a burst of agents' reports) together. A network's set is kept from the first time a node is given
 * it, so that every later change to it is one the nodes hosting it are told.
 *
 * Backends of services publishing ingress ports are in every node's view, so their changes go to
 * every node too (`everyNode`). Their readiness is computed like any endpoint's, from the nodes
 * hosting their network only: a node forwarding an ingress port passes packets to the backend's
 * node over the mesh tunnel and needs nothing of the network itself, so waiting for every node of
 * the cluster would only hold backends out of service while a far node is slow.
 */
export class ReadinessTracker {
  private readonly ready = new Map<string, Set<string>>();
  /** Per network kept: the newest creation revision of its endpoints when it was last computed. */
  private readonly newest = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private pending: NodeJS.Immediate | undefined;

  constructor(
    private readonly source: ReadinessSource,
    private readonly notify: (changes: ReadinessChanges, everyNode: ReadinessChange) => void,
  ) {}

  /** Readiness on these networks may have changed: computed again soon, and the changes told. */
  touch(networkIds: Iterable<string>): void {
    for (const networkId of networkIds) if (this.ready.has(networkId)) this.dirty.add(networkId);
    if (this.dirty.size > 0) this.pending ??= setImmediate(() => this.flush());
  }

  /**
   * A node now reports network `networkId` programmed at revision `after` instead of `before`: that
   * changes nothing while both are past every endpoint of the network (the usual report, after a
   * change elsewhere), so only a report that crosses an endpoint's creation touches the network.
   */
  reported(networkId: string, before: number, after: number): void {
    if (Math.min(before, after) < (this.newest.get(networkId) ?? Infinity)) this.touch([networkId]);
  }

  /** Anything may have changed (the store cannot say what). */
  touchAll(): void {
    this.touch([...this.ready.keys()]);
  }

  /** The ready endpoints of these networks, current (pending changes are told first). */
  readyOn(networkIds: Iterable<string>): string[] {
    this.flush();
    const ids: string[] = [];
    for (const networkId of networkIds) {
      const ready = this.readySetOf(networkId);
      if (ready.size > 0) ids.push(...ready);
    }
    return ids;
  }

  private readySetOf(networkId: string): ReadonlySet<string> {
    let ready = this.ready.get(networkId);
    if (ready === undefined) {
      ready = this.compute(networkId, this.source.networkEndpointNodes(networkId));
      this.ready.set(networkId, ready);
    }
    return ready;
  }

  /** The ready ones among these endpoints, current (their networks kept from now on, like `readyOn`'s). */
  readyAmong(endpoints: Iterable<{ id: string; networkId: string }>): string[] {
    this.flush();
    const ids: string[] = [];
    for (const { id, networkId } of endpoints) if (this.readySetOf(networkId).has(id)) ids.push(id);
    return ids;
  }

  /** Forgets everything (leadership lost: the next leader's agents start with a whole set). */
  reset(): void {
    clearImmediate(this.pending);
    this.pending = undefined;
    this.ready.clear();
    this.newest.clear();
    this.dirty.clear();
  }

  /** Computes the touched networks again and tells their hosts what changed. */
  flush(): void {
    clearImmediate(this.pending);
    this.pending = undefined;
    if (this.dirty.size === 0) return;
    const changes: ReadinessChanges = new Map();
    const everyNode: ReadinessChange = { ready: [], unready: [] };
    for (const networkId of this.dirty) {
      const before = this.ready.get(networkId) ?? new Set<string>();
      const endpoints = this.source.networkEndpointNodes(networkId);
      const after = this.compute(networkId, endpoints);
      if (endpoints.length === 0) {
        this.ready.delete(networkId);
        this.newest.delete(networkId);
      } else {
        this.ready.set(networkId, after);
      }
      const ready = [...after].filter((id) => !before.has(id));
      const unready = [...before].filter((id) => !after.has(id));
      if (ready.length === 0 && unready.length === 0) continue;
      for (const nodeId of new Set(endpoints.map((endpoint) => endpoint.nodeId))) {
        let change = changes.get(nodeId);
        if (!change) changes.set(nodeId, (change = { ready: [], unready: [] }));
        change.ready.push(...ready);
        change.unready.push(...unready);
      }
      // An endpoint removed meanwhile is not here: it leaves every view, and its readiness with it.
      const mesh = new Set(endpoints.filter((endpoint) => endpoint.meshBackend).map((endpoint) => endpoint.id));
      if (mesh.size === 0) continue;
      everyNode.ready.push(...ready.filter((id) => mesh.has(id)));
      everyNode.unready.push(...unready.filter((id) => mesh.has(id)));
    }
    this.dirty.clear();
    if (changes.size > 0 || everyNode.ready.length > 0 || everyNode.unready.length > 0) this.notify(changes, everyNode);
  }

  private compute(networkId: string, endpoints: TrackedEndpoint[]): Set<string> {
    this.newest.set(networkId, endpoints.reduce((newest, endpoint) => Math.max(newest, endpoint.createdRevision), 0));
    const hosts = new Set(endpoints.map((endpoint) => endpoint.nodeId));
    const asReadiness = endpoints.map(({ id, nodeId, createdRevision }) => ({ id, host: nodeId, createdRevision }));
    return readyOnNetwork(
      networkId,
      asReadiness,
      hosts,
      (nodeId) => this.source.programmingOf(nodeId),
      (ownerId, members) => this.source.gossipFloor?.(networkId, ownerId, members) ?? Infinity,
    );
  }
}
