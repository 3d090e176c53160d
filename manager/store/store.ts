import type { MemberRef, NodeView, ViewDelta } from '../../proto/gen/trellis/v1/dispatcher';
import type { GossipEntry } from '../../proto/gen/trellis/v1/gossip';
import type { Network, Node, Sandbox, Service } from '../../proto/gen/trellis/v1/types';
import { setDefaultAddressPools } from './address-pools';
import { finishRootRotation, initSecurity, rotateJoinSecret, rotateRootCa, setAutolock } from './security';
import type { ApplyResult, Command, CommandOf, CommandValues, SetNodeGossipKey } from './commands';
import { connect, disconnect } from './endpoints';
import { checkCommand } from './command-schema';
import { fail, type Result } from './errors';
import { createNetwork, removeNetwork } from './networks';
import { registerNode, removeNode, setNodeGossipKey, updateNode } from './nodes';
import { revokeNode } from './revocations';
import { recordCertificate } from './certificates';
import { createSandbox, removeSandbox } from './sandboxes';
import { createService, removeService } from './services';
import { updateService } from './service-update';
import { finishDrain } from './drains';
import { StoreState, type AddressPoolRecord, type ClusterSecurityRecord, type IssuedCertificateRecord, type RevokedNodeRecord, type StoreSnapshot } from './state';
import { affectedNodes, affectsEveryNode } from './affected-nodes';
import { ChangeJournal, type Changes } from './journal';
import { viewDelta } from './view-delta';
import { changedMemberSets, memberDigest, memberEntries } from './member-digests';
import { builtAfter, hostedNetworkIds, isMeshBackend, leftToGossip, nodeView, type NetworkEndpointsCache, toNetwork, toNode, toSandbox, toService } from './views';

/** Revisions the change journal reaches back; an agent further behind gets its whole view again. */
const journalLength = 4096;

type Handlers = { [T in Command['type']]: (state: StoreState, command: CommandOf<T>) => Result<CommandValues[T]> };

const handlers: Handlers = {
  initSecurity,
  rotateJoinSecret,
  rotateRootCa,
  finishRootRotation,
  setAutolock,
  createNetwork,
  removeNetwork,
  registerNode,
  updateNode,
  setNodeGossipKey,
  removeNode,
  revokeNode,
  recordCertificate,
  createSandbox,
  removeSandbox,
  connect,
  disconnect,
  finishDrain,
  createService,
  updateService,
  removeService,
  setDefaultAddressPools,
};

/**
 * The managers' replicated state machine. `apply` is deterministic: no clock,
 * randomness or I/O, so every replica applying the same commands agrees on
 * every allocation. A refused command changes nothing, not even the revision.
 */
export class Store {
  private state: StoreState;
  private readonly journal = new ChangeJournal(journalLength);

  constructor(snapshot?: StoreSnapshot) {
    this.state = snapshot ? StoreState.restore(snapshot) : StoreState.empty();
  }

  static restore(snapshot: StoreSnapshot): Store {
    return new Store(snapshot);
  }

  /** Counts successful commands; 0 for an empty store. */
  get revision(): number {
    return this.state.revision;
  }

  /**
   * Total: whatever a log entry holds (a command from another version, one that slipped past
   * the proposer's check) gives a result, the same on every replica, and never throws.
   */
  apply<C extends Command>(command: C): ApplyResult<C> {
    const checked = checkCommand(command);
    if (!checked.ok) return checked;
    // TypeScript cannot relate handlers[command.type] to command's own type; the Handlers type guarantees it.
    const handler = handlers[command.type] as (state: StoreState, command: C) => ApplyResult<C>;
    let result: ApplyResult<C>;
    try {
      result = handler(this.state, command);
    } catch (error) {
      // A bug, or a state no handler expected: refuse the command, and undo what it wrote before it threw.
      // Handlers do check before they write, but nothing proves that of every handler to come, so the
      // state keeps an undo of each record write (a closure per write) and is rebuilt from the records
      // only here. Handlers are deterministic, so every replica throws here alike and refuses it alike.
      this.state = this.state.rolledBack();
      const reason = error instanceof Error ? error.message : String(error);
      return fail('INTERNAL', 'type', `type: applying this ${command.type} failed (${reason}); nothing was changed. This is a bug: please report it`);
    }
    const touched = this.state.takeTouched();
    if (!result.ok) return result;
    this.state.revision += 1;
    this.journal.record(this.state.revision, affectedNodes(this.state, touched), affectsEveryNode(this.state, touched), touched);
    return result;
  }

  /**
   * What was written between `revision` and now, or undefined when this store no
   * longer knows (too far back, or it was restored from a snapshot since): then any
   * view may have changed.
   */
  changesSince(revision: number): Changes | undefined {
    return this.journal.since(revision, this.state.revision);
  }

  /** The nodes whose view may differ between `revision` and now (a superset of those that do); see `changesSince`. */
  affectedNodesSince(revision: number): Set<string> | undefined {
    const changes = this.changesSince(revision);
    if (!changes?.everyNode) return changes?.affectedNodes;
    return new Set([...changes.affectedNodes, ...this.state.nodes.keys()]);
  }

  snapshot(): StoreSnapshot {
    return this.state.snapshot();
  }

  /**
   * Like `snapshot`, but sharing the live records instead of copying them (a copy of a large
   * store is a large transient allocation): serialize it at once, before the next apply.
   */
  liveSnapshot(): StoreSnapshot {
    return this.state.liveSnapshot();
  }

  networks(): Network[] {
    return [...this.networksAfter('')];
  }

  /**
   * Networks in name order after the name `after` ('' = from the first), each built
   * only when reached: a list page reads a few of them, not the whole store. Likewise
   * sandboxesAfter, nodesAfter and servicesAfter. Read them before the next apply.
   */
  networksAfter(after: string): Iterable<Network> {
    return builtAfter(this.state.networks.values(), after, (network) => toNetwork(this.state, network));
  }

  /** By exact id first, then by name. */
  network(reference: string): Network | undefined {
    const network = this.state.findNetwork(reference);
    return network && toNetwork(this.state, network);
  }

  sandboxes(): Sandbox[] {
    return [...this.sandboxesAfter('')];
  }

  sandboxesAfter(after: string): Iterable<Sandbox> {
    return builtAfter(this.state.sandboxes.values(), after, (sandbox) => toSandbox(this.state, sandbox));
  }

  sandbox(reference: string): Sandbox | undefined {
    const sandbox = this.state.findSandbox(reference);
    return sandbox && toSandbox(this.state, sandbox);
  }

  /** Status NODE_STATUS_UNSPECIFIED: liveness is the dispatcher's to add. */
  nodes(): Node[] {
    return [...this.nodesAfter('')];
  }

  nodesAfter(after: string): Iterable<Node> {
    return builtAfter(this.state.nodes.values(), after, toNode);
  }

  node(reference: string): Node | undefined {
    const node = this.state.findNode(reference);
    return node && toNode(node);
  }

  services(): Service[] {
    return [...this.servicesAfter('')];
  }

  servicesAfter(after: string): Iterable<Service> {
    return builtAfter(this.state.services.values(), after, (service) => toService(this.state, service));
  }

  service(reference: string): Service | undefined {
    const service = this.state.findService(reference);
    return service && toService(this.state, service);
  }

  /** The cluster's CA and join secrets (sealed); undefined in a store made without them (tests). */
  security(): ClusterSecurityRecord | undefined {
    return structuredClone(this.state.security);
  }

  /**
   * The root CA fields of `security()` without copying the CA key: read after every apply
   * (a rotation changes what every node trusts), so it must cost nothing.
   */
  rootCa(): Pick<ClusterSecurityRecord, 'caCertPem' | 'rotation'> | undefined {
    const security = this.state.security;
    return security && { caCertPem: security.caCertPem, ...(security.rotation ? { rotation: { ...security.rotation } } : {}) };
  }

  /** Why `nodeId`'s certificates are refused, or undefined when they are not revoked. */
  revocation(nodeId: string): RevokedNodeRecord | undefined {
    const revoked = this.state.revokedNodes.get(nodeId);
    return revoked && { ...revoked };
  }

  /** The latest certificate issued to `nodeId`, if one was recorded. */
  issuedCertificate(nodeId: string): IssuedCertificateRecord | undefined {
    const issued = this.state.issuedCertificates.get(nodeId);
    return issued && { ...issued };
  }

  /** The latest certificate the manager with Raft id `memberId` holds: under its own id, or recorded with it. */
  managerCertificate(memberId: string): IssuedCertificateRecord | undefined {
    const own = this.issuedCertificate(memberId);
    if (own) return own;
    let latest: IssuedCertificateRecord | undefined;
    for (const issued of this.state.issuedCertificates.values()) if (issued.memberId === memberId) latest = issued;
    return latest && { ...latest };
  }

  /** Every endpoint that drains, with when its drain ends (ms since the epoch): what the leader's drain loop finishes. */
  drains(): { endpointId: string; drainEndsAtMs: number }[] {
    return [...this.state.drainingEndpointIds].flatMap((endpointId) => {
      const drainEndsAtMs = this.state.endpoints.get(endpointId)?.drainEndsAtMs;
      return drainEndsAtMs === undefined ? [] : [{ endpointId, drainEndsAtMs }];
    });
  }

  /** Names of the nodes with an endpoint on the network (none for an unknown one). */
  networkHosts(networkId: string): Set<string> {
    return new Set(this.state.endpointsOfNetwork(networkId).map((endpoint) => this.state.node(this.state.sandbox(endpoint.sandboxId).nodeId).name));
  }

  /** Ids of the networks `nodeId` hosts (has an endpoint on). */
  hostedNetworks(nodeId: string): Set<string> {
    return hostedNetworkIds(this.state, nodeId);
  }

  /**
   * Every endpoint of a network with its node's id, its creation revision, and whether every node's
   * view holds it (a backend of a service publishing an ingress port): what readiness reads (none
   * for an unknown network).
   */
  networkEndpointNodes(networkId: string): { id: string; nodeId: string; createdRevision: number; meshBackend: boolean }[] {
    return this.state.endpointsOfNetwork(networkId).map((endpoint) => ({
      id: endpoint.id,
      nodeId: this.state.sandbox(endpoint.sandboxId).nodeId,
      createdRevision: endpoint.createdRevision,
      meshBackend: isMeshBackend(this.state, endpoint),
    }));
  }

  /** The backends of services publishing ingress ports on networks `nodeId` does not host, which its view holds for the routing mesh. */
  meshBackendsOutside(nodeId: string): { id: string; networkId: string }[] {
    const hosted = hostedNetworkIds(this.state, nodeId);
    const backends: { id: string; networkId: string }[] = [];
    for (const serviceId of this.state.ingressServiceIds) {
      for (const networkId of this.state.service(serviceId).networkIds.filter((id) => !hosted.has(id))) {
        for (const endpoint of this.state.endpointsOfNetwork(networkId)) if (endpoint.serviceId === serviceId) backends.push({ id: endpoint.id, networkId });
      }
    }
    return backends;
  }

  /** The network of an endpoint, if it exists. */
  endpointNetwork(endpointId: string): string | undefined {
    return this.state.endpoints.get(endpointId)?.networkId;
  }

  /** Ids of every network. */
  networkIds(): string[] {
    return [...this.state.networks.keys()];
  }

  /**
   * What the leader proposes when a node's session hello carries `publicKey`
   * (SessionHello.gossip_public_key): the command that stores it, or undefined when the node
   * already has that key ('' for a node without one, and for an unknown node).
   */
  gossipKeyUpdate(nodeId: string, publicKey: string): SetNodeGossipKey | undefined {
    const stored = this.state.nodes.get(nodeId)?.gossipPublicKey ?? '';
    return stored === publicKey ? undefined : { type: 'setNodeGossipKey', nodeId, publicKey };
  }

  /**
   * Whether the view of `viewerId` leaves out the endpoints `ownerId` owns on the networks it
   * hosts (both gossip: NodeView.members lists the owner instead). Readiness sent to the viewer
   * names only what its view holds.
   */
  leftToGossip(viewerId: string, ownerId: string): boolean {
    return leftToGossip(this.state, viewerId, ownerId);
  }

  /** The endpoints `ownerNodeId` owns on the network as gossip carries them (ready false), by address: see member-digests.ts. */
  memberEntries(networkId: string, ownerNodeId: string): GossipEntry[] {
    return memberEntries(this.state, networkId, ownerNodeId);
  }

  /** The digest of `memberEntries` now (MemberDigest.digest). */
  memberDigest(networkId: string, ownerNodeId: string): string {
    return memberDigest(this.state, networkId, ownerNodeId);
  }

  /**
   * The (network, owner) pairs whose `memberEntries` may differ over `changes` (from
   * `changesSince(revision)`): a superset, by network then node id, of every owner gossiping or not.
   */
  changedMemberSets(changes: Changes): MemberRef[] {
    return changedMemberSets(this.state, changes);
  }

  /** Where networks created without a subnet get one. */
  defaultAddressPools(): AddressPoolRecord[] {
    return structuredClone(this.state.defaultAddressPools);
  }

  /**
   * Everything one node must program at the current revision. Views computed with one
   * `cache` at one revision share their (read-only) endpoint objects.
   */
  nodeView(nodeId: string, cache?: NetworkEndpointsCache): NodeView {
    return nodeView(this.state, nodeId, cache);
  }

  /** How `nodeId`'s view changed over `changes` (from `changesSince(fromRevision)`), up to the current revision. */
  viewDelta(nodeId: string, fromRevision: number, changes: Changes, cache?: NetworkEndpointsCache): ViewDelta {
    return viewDelta(this.state, nodeId, fromRevision, changes, cache);
  }
}
