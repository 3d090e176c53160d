import type { Touched } from './state';

/** The writes of a run of revisions, merged: what a view delta over that run must look at. */
export interface Changes {
  /** Nodes whose view may differ (a superset of those that do; see affected-nodes.ts), unless `everyNode`. */
  affectedNodes: Set<string>;
  /**
   * Some write may have changed every node's view (a network created or removed, a service with an
   * ingress port or one of its backends written: see `affectsEveryNode`). A flag rather
   * than every node's id in `affectedNodes`, so a journal entry stays as small as its write.
   */
  everyNode: boolean;
  /** Endpoint id → its network id, for endpoints added, replaced or removed. */
  endpoints: Map<string, string>;
  /** Sandbox id → its node id, for sandboxes added, replaced or removed. */
  sandboxes: Map<string, string>;
  /** Network records added, replaced or removed. */
  networks: Set<string>;
  /** Node records changed (their address shows in every endpoint view of their sandboxes, and with their gossip key in their members' views). */
  nodes: Set<string>;
  /** Service records added, replaced or removed. */
  services: Set<string>;
  /** Service records written that published an ingress port before the write or after it. */
  ingressServices: Set<string>;
  /** Endpoint id → its sandbox's node, for endpoints added, replaced or removed. */
  endpointNodes: Map<string, string>;
  /** Endpoint id → its service, for services' backends added, replaced or removed. */
  backends: Map<string, string>;
  /** Nodes that started or stopped gossiping (a superset of those that gossip at one of the two revisions and not at the other). */
  gossipSwitched: Set<string>;
}

interface Entry {
  revision: number;
  affectedNodes: Set<string>;
  everyNode: boolean;
  touched: Touched;
}

function noChanges(): Changes {
  return {
    affectedNodes: new Set(),
    everyNode: false,
    endpoints: new Map(),
    sandboxes: new Map(),
    networks: new Set(),
    nodes: new Set(),
    services: new Set(),
    ingressServices: new Set(),
    endpointNodes: new Map(),
    backends: new Map(),
    gossipSwitched: new Set(),
  };
}

/** Whether `nodeId`'s view may differ over `changes`: whether it needs a delta. */
export function concernsNode(changes: Changes, nodeId: string): boolean {
  return changes.everyNode || changes.affectedNodes.has(nodeId);
}

/**
 * What each recent revision wrote, oldest first and contiguous. It lives in memory only:
 * a store restored from a snapshot starts it afresh, and the entries the log replays
 * after the snapshot fill it again, so it reaches back exactly as far as the log does.
 */
export class ChangeJournal {
  private readonly entries: Entry[] = [];

  constructor(private readonly capacity: number) {}

  record(revision: number, affectedNodes: Set<string>, everyNode: boolean, touched: Touched): void {
    this.entries.push({ revision, affectedNodes, everyNode, touched });
    if (this.entries.length > this.capacity) this.entries.shift();
  }

  /** The changes after `revision` up to `current`, or undefined when the journal no longer reaches back that far. */
  since(revision: number, current: number): Changes | undefined {
    const changes = noChanges();
    if (revision >= current) return changes;
    const first = this.entries[0];
    if (!first || first.revision > revision + 1) return undefined;
    for (let i = this.entries.length - 1; i >= 0; i -= 1) {
      const entry = this.entries[i];
      if (!entry || entry.revision <= revision) break;
      merge(changes, entry);
    }
    return changes;
  }
}

function merge(into: Changes, entry: Entry): void {
  for (const node of entry.affectedNodes) into.affectedNodes.add(node);
  into.everyNode ||= entry.everyNode;
  for (const [id, networkId] of entry.touched.endpointChanges) into.endpoints.set(id, networkId);
  for (const [id, nodeId] of entry.touched.sandboxChanges) into.sandboxes.set(id, nodeId);
  for (const id of entry.touched.networkRecords) into.networks.add(id);
  for (const id of entry.touched.nodeRecords) into.nodes.add(id);
  for (const id of entry.touched.serviceChanges.keys()) into.services.add(id);
  for (const id of entry.touched.ingressServices) into.ingressServices.add(id);
  for (const [id, nodeId] of entry.touched.endpointNodes) into.endpointNodes.set(id, nodeId);
  for (const [id, serviceId] of entry.touched.backendChanges) into.backends.set(id, serviceId);
  for (const id of entry.touched.gossipSwitched) into.gossipSwitched.add(id);
}
