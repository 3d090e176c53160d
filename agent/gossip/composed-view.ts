import { gossipEntryOf } from '../../proto/runtime/gossip-entry';
import { compareText } from '../../proto/runtime/order';
import type { EndpointView, MemberProgrammed, NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import type { OwnEndpoint } from './gossip-agent';
import type { ManagerNetwork, TableEntry } from './model';

/** What the composer reads of the GossipAgent: the remote entries it programs, per network. */
export interface GossipTables {
  networkIds(): string[];
  table(networkId: string): TableEntry[];
  programmedDigests(networkId: string): Map<string, string>;
}

/** The view a gossiping agent programs, and what goes with it. */
export interface Composition {
  /** The managers' view it was composed from, and their ready set then: what a restart with every manager down starts from (view-file.ts). */
  held: NodeView;
  managerReady: ReadonlySet<string>;
  /** The managers' view with the endpoints gossip brings added: what the reconciler, DNS and balancing consume. */
  view: NodeView;
  /** The managers' ready set and the remote endpoints their owners announce ready (see composeView). */
  ready: ReadonlySet<string>;
  /** Per (network, member) the digest of what `view` holds of the member: the report after a pass over `view` carries them. */
  members: MemberProgrammed[];
  /** The gossip entries `view` holds (propagation is timed on them). */
  remote: TableEntry[];
  /**
   * Equal for two compositions that ask the kernel for the same thing: the view's revision and
   * the members' digests (readiness, outside the digest, is no kernel state).
   */
  key: string;
}

/**
 * The managers' view of a gossiping node (its own endpoints, non-gossiping owners' and ingress
 * backends, the members) plus the endpoints gossip brings (GossipAgent's tables). On an
 * endpoint both hold, the managers' view wins: it is their truth at its revision, and gossip of
 * an owner that no longer gossips (its key cleared) is dropped by the next view anyway.
 *
 * Ready: what the managers say is (their readiness names only endpoints of their view), and a
 * remote endpoint its owner announced ready while the owner is `linked` — an owner that went down
 * cannot gossip that its endpoints no longer are, and the managers tell members nothing of it, so
 * a lost link stands for the liveness the managers judge by (the way to it is the same underlay).
 * Entries of a fallback carry the managers' own readiness.
 */
export function composeView(held: NodeView, managerReady: ReadonlySet<string>, tables: GossipTables, linked: ReadonlySet<string>): Composition {
  const hosted = new Set(held.networks.map((network) => network.id));
  const inView = new Set(held.endpoints.map((endpoint) => endpoint.id));
  const remote: TableEntry[] = [];
  const members: MemberProgrammed[] = [];
  for (const networkId of tables.networkIds().sort(compareText)) {
    if (!hosted.has(networkId)) continue;
    for (const entry of tables.table(networkId)) {
      if (entry.ownerNodeId !== held.nodeId && !inView.has(entry.endpointId)) remote.push(entry);
    }
    for (const [ownerNodeId, digest] of [...tables.programmedDigests(networkId)].sort(([a], [b]) => compareText(a, b))) {
      members.push({ networkId, ownerNodeId, digest });
    }
  }
  const ready = new Set(managerReady);
  for (const entry of remote) if (entry.ready && (entry.source === 'manager' || linked.has(entry.ownerNodeId))) ready.add(entry.endpointId);
  const key = [held.revision, ...members.map((member) => `${member.networkId}/${member.ownerNodeId}=${member.digest}`)].join(' ');
  return { held, managerReady, view: { ...held, endpoints: [...held.endpoints, ...remote.map(endpointView)] }, ready, members, remote, key };
}

/** A remote endpoint as the reconciler, DNS and balancing read it: only local endpoints use interface, files and published ports. */
function endpointView(entry: TableEntry): EndpointView {
  return {
    id: entry.endpointId,
    networkId: entry.networkId,
    sandboxId: entry.sandboxId,
    nodeId: entry.ownerNodeId,
    vtep: entry.vtep,
    ip: entry.ip,
    prefixLength: entry.prefixLength,
    mac: entry.mac,
    interfaceName: '',
    hostname: entry.hostname,
    extraHosts: [],
    dns: [],
    publishedPorts: [],
    serviceId: entry.serviceId,
    draining: entry.draining,
    aliases: [...entry.aliases],
    sandboxName: entry.sandboxName,
  };
}

/** This node's endpoints as it announces them, ready as the managers told it: built as the leader builds its digests, so both digest the same fields. */
export function ownEndpoints(held: NodeView, managerReady: ReadonlySet<string>): OwnEndpoint[] {
  return held.endpoints
    .filter((endpoint) => endpoint.nodeId === held.nodeId)
    .map((endpoint) => ({ networkId: endpoint.networkId, ...gossipEntryOf(endpoint, managerReady.has(endpoint.id)) }));
}

/** Every hosted network with its fellow gossiping members (none listed: this node gossips there with no one yet). */
export function memberNetworks(held: NodeView): ManagerNetwork[] {
  const networks = new Map<string, ManagerNetwork>(held.networks.map((network) => [network.id, { networkId: network.id, members: [] }]));
  for (const { networkId, nodeId, publicKey, vtep } of held.members) networks.get(networkId)?.members.push({ nodeId, publicKey, vtep });
  return [...networks.values()];
}
