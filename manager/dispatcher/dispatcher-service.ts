import type { ServerDuplexStream, ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { performance } from 'node:perf_hooks';
import {
  DispatcherService,
  type AgentMessage,
  type ManagerMessage,
  type DispatcherServer,
  type EndpointReadiness,
  type MemberDigest,
  type MemberDigests,
  type ProgrammedReport,
  type SessionHello,
  type ViewDelta,
} from '../../proto/gen/trellis/v1/dispatcher';
import { NodeStatus, type Node } from '../../proto/gen/trellis/v1/types';
import { serviceError, fromStoreError } from '../api/status';
import { asServiceError, unary } from '../api/unary';
import type { ClusterState } from '../cluster/cluster-state';
import { concernsNode, type NetworkEndpointsCache } from '../store';
import { newId } from '../ids';
import { heartbeatIntervalMs, nodeDownAfterMs } from '../../proto/runtime/heartbeat';
import type { NodeIdentity } from '../../proto/runtime/tls';
import { callerIdentity } from '../ca/authorization';
import { revokedError } from '../ca/revoked';
import { trustBundlePem } from '../ca/root-rotation';
import type { HostProgramming } from '../api/readiness';
import { ReadinessTracker, type ReadinessChange, type ReadinessChanges } from './readiness-tracker';
import { deltaParts, memberDigestMessages, readinessMessages, viewChunks } from './view-chunks';
import { defaultCorrectionGraceMs, GossipJudge, type GossipJudgeOptions } from './gossip-judge';
import { StoreReader } from './gossip-store';
import { GraceClock } from './grace-clock';

type SessionStream = ServerDuplexStream<AgentMessage, ManagerMessage>;

interface AgentSession {
  stream: SessionStream;
  /** When the agent last said anything (a heartbeat at least every second). */
  lastHeardAt: number;
  /**
   * The revision of the view the agent holds once it has read what was sent; undefined
   * while the agent holds a newer revision than this store has applied (this leader
   * is catching up), in which case `resumeAt` says from where to resume.
   */
  sentRevision: number | undefined;
  resumeAt: number;
  /** The agent takes a delta in parts (else a delta too large for one message becomes a resync). */
  assemblesDeltaParts: boolean;
  /** The session was given its whole ready set (after its first view): readiness changes follow it. */
  readinessOpened: boolean;
  /** The agent has sent a ProgrammedReport in this session (its first carries every member digest). */
  reported: boolean;
  /** Messages not yet handed to the stream: one is written at a time (see `pump`). */
  outbox: { message: ManagerMessage; written?: () => void }[];
  writing: boolean;
}

/** What a ManagerMessage carries. */
export type ManagerMessageKind = NonNullable<ManagerMessage['body']>['$case'];

/** Instrumentation hooks (metrics); called synchronously, so they must be cheap and must not throw. */
export interface DispatcherObserver {
  /** `nodeId`'s agent reported having programmed its view up to `revision` (in its hello or a ProgrammedReport). */
  programmed(nodeId: string, revision: number): void;
  /** A message went out to an agent, of `bytes` on the wire. */
  sent(kind: ManagerMessageKind, bytes: number): void;
  /** Members whose programmed digest lagged past the grace period were sent the truth (`pairs` of them). */
  digestsCorrected?(pairs: number): void;
  /** A member's fallback request (MemberEntriesRequest) was answered. */
  memberEntriesAnswered?(): void;
}

/**
 * After a leader takes over, how long beyond the time a node takes to be found down its agents may
 * take to come back (their retries back off to 2 s, and the election comes first).
 */
const AGENT_RETURN_MS = 7_000;

export type DispatcherOptions = Pick<GossipJudgeOptions, 'correctionGraceMs'>;

/** Hex of 32 bytes: what a gossip key must be. */
const gossipKeyPattern = /^[0-9a-f]{64}$/;

/** The caller's identity when it is a worker (a manager's certificate may act for any node: managers are trusted). */
function workerIdentity(call: Parameters<typeof callerIdentity>[0]): NodeIdentity | undefined {
  const identity = callerIdentity(call);
  return identity?.role === 'trellis-worker' ? identity : undefined;
}

/** Metadata key that tells an agent where the leader is when a follower turns its session away. */
export const leaderMetadataKey = 'trellis-leader';

/**
 * Holds one session per agent, on the leader only, and streams each agent its
 * node's desired view whenever that view changes. A node is ready while its
 * agent holds a session with the leader and has been heard from within the
 * last three heartbeats; a silent session is cut.
 */
export class Dispatcher {
  /** When this manager began to lead (or was made), and the agents heard since: see GossipSessions.speaksFor. */
  private leadingSinceMs = Date.now();
  private readonly heardSinceLeading = new Set<string>();
  private readonly sessions = new Map<string, AgentSession>();
  /** What each node's agent last reported as programmed; kept after its session ends. */
  private readonly programmed = new Map<string, { report: ProgrammedReport; unprogrammed: ReadonlySet<string> }>();
  /** Which endpoints are ready, told to every session (see ReadinessTracker). */
  private readonly readiness: ReadinessTracker;
  /** The store as gossip judgment reads it, memoized per revision. */
  private readonly reader: StoreReader;
  /** Member digests and what gossiping agents programmed of each other (see GossipJudge). */
  private readonly gossip: GossipJudge;
  private readonly corrector: NodeJS.Timeout;
  /** What the correction grace runs on: the time this leader kept up (see GraceClock). */
  private readonly graceClock: GraceClock;
  /** The store revision views were last pushed for; the store says which nodes changed since. */
  private pushedRevision: number;
  private viewCache: { revision: number; views: NetworkEndpointsCache } = { revision: -1, views: new Map() };
  /** The roots agents were last told to trust; a root CA rotation changes them. */
  private trustBundle: string | undefined;
  private readonly sweeper: NodeJS.Timeout;
  private lastSweepAt = Date.now();

  constructor(
    private readonly state: ClusterState,
    private readonly logger: Logger,
    private readonly observer?: DispatcherObserver,
    options: DispatcherOptions = {},
  ) {
    this.pushedRevision = state.store.revision;
    this.reader = new StoreReader(() => this.state.store);
    const graceMs = options.correctionGraceMs ?? defaultCorrectionGraceMs;
    const correctEveryMs = Math.max(graceMs / 2, 10);
    this.graceClock = new GraceClock(correctEveryMs);
    this.gossip = new GossipJudge(
      this.reader,
      {
        live: (nodeId) => this.sessions.has(nodeId),
        speaksFor: (nodeId) => this.sessions.has(nodeId) || this.heardSinceLeading.has(nodeId) || Date.now() - this.leadingSinceMs >= nodeDownAfterMs + AGENT_RETURN_MS,
        sendDigests: (nodeId, digests) => this.sendDigestsTo(nodeId, digests),
      },
      { ...options, now: () => this.graceClock.now() },
    );
    this.readiness = new ReadinessTracker(
      {
        networkEndpointNodes: (networkId) => this.state.store.networkEndpointNodes(networkId),
        programmingOf: (nodeId) => this.programmingOf(nodeId),
        gossipFloor: (networkId, ownerId, members) => this.gossip.floor(networkId, ownerId, members),
      },
      (changes, everyNode) => this.sendReadinessChanges(changes, everyNode),
    );
    state.onChange(() => this.pushViews());
    state.onLeadershipChange((leading) => {
      if (!leading) this.closeAll();
      this.leadingSinceMs = Date.now();
      this.heardSinceLeading.clear();
    });
    this.sweeper = setInterval(() => this.cutSilentSessions(), heartbeatIntervalMs);
    let loop = performance.eventLoopUtilization();
    this.corrector = setInterval(() => {
      const since = performance.eventLoopUtilization(loop);
      loop = performance.eventLoopUtilization();
      // A millisecond of waiting for input: everything sent before had been read.
      this.graceClock.tick(since.idle >= 1);
      this.correctLaggingMembers();
    }, correctEveryMs);
  }

  close(): void {
    clearInterval(this.sweeper);
    clearInterval(this.corrector);
    this.closeAll();
  }

  /** Agents holding a session here (none unless this manager leads). */
  sessionCount(): number {
    return this.sessions.size;
  }

  withLiveness(node: Node): Node {
    const report = this.programmed.get(node.id)?.report;
    return {
      ...node,
      status: this.isHeard(node.id) ? NodeStatus.NODE_STATUS_READY : NodeStatus.NODE_STATUS_DOWN,
      appliedRevision: report?.revision ?? 0,
      programmedNetworks: { ...report?.networks },
      // What a gossiping node has not programmed of its fellow members' endpoints counts too.
      unprogrammedEndpointIds: [...(report?.unprogrammedEndpointIds ?? []), ...this.gossip.uncovered(node.id)],
      programmedServices: { ...report?.services },
    };
  }

  /** Readiness counts a node live while its agent holds a session (a silent one is cut within a heartbeat interval). */
  private programmingOf(nodeId: string): HostProgramming | undefined {
    const programmed = this.programmed.get(nodeId);
    const live = this.sessions.has(nodeId);
    if (!programmed && !live) return undefined;
    return { live, networks: programmed?.report.networks ?? {}, unprogrammed: programmed?.unprogrammed ?? new Set(), gossips: this.reader.gossips(nodeId) };
  }

  /** A node's session opened or ended: its endpoints, and what its networks wait for, change. */
  private livenessChanged(nodeId: string): void {
    if (!this.sessions.has(nodeId)) this.gossip.sessionClosed(nodeId);
    this.readiness.touch(this.state.store.hostedNetworks(nodeId));
  }

  /** Touches the networks whose readiness a new report from `nodeId` may change. */
  private reported(nodeId: string, report: ProgrammedReport, first: boolean): void {
    if (first || report.members.length > 0) this.readiness.touch(this.gossip.reported(nodeId, report.members, first));
    const before = this.programmed.get(nodeId);
    const unprogrammed = new Set(report.unprogrammedEndpointIds);
    this.programmed.set(nodeId, { report, unprogrammed });
    const networks = before?.report.networks ?? {};
    for (const networkId of new Set([...Object.keys(networks), ...Object.keys(report.networks)])) {
      this.readiness.reported(networkId, networks[networkId] ?? 0, report.networks[networkId] ?? 0);
    }
    const touched = new Set<string>();
    const unprogrammedBefore = before?.unprogrammed ?? new Set<string>();
    for (const id of [...unprogrammed].filter((id) => !unprogrammedBefore.has(id)).concat([...unprogrammedBefore].filter((id) => !unprogrammed.has(id)))) {
      const networkId = this.state.store.endpointNetwork(id);
      if (networkId !== undefined) touched.add(networkId);
    }
    this.readiness.touch(touched);
  }

  /** Per service id, the service revision `nodeId`'s agent last reported as programmed (ProgrammedReport.services). */
  programmedServices(nodeId: string): Record<string, number> {
    return { ...this.programmed.get(nodeId)?.report.services };
  }

  private isHeard(nodeId: string): boolean {
    const session = this.sessions.get(nodeId);
    return session !== undefined && Date.now() - session.lastHeardAt < nodeDownAfterMs;
  }

  private cutSilentSessions(): void {
    const now = Date.now();
    const stalledMs = now - this.lastSweepAt - heartbeatIntervalMs;
    this.lastSweepAt = now;
    if (stalledMs > heartbeatIntervalMs) {
      // This manager was busy (its timers ran late), so heartbeats may sit unread in the sockets:
      // the silence is ours, not the agents'. Grant one interval to read them before judging.
      this.logger.warn({ stalledMs }, 'event loop stalled; giving agents one more heartbeat interval');
      for (const session of this.sessions.values()) session.lastHeardAt = Math.max(session.lastHeardAt, now - nodeDownAfterMs + heartbeatIntervalMs);
      return;
    }
    for (const [nodeId, session] of this.sessions) {
      if (this.isHeard(nodeId)) continue;
      this.logger.warn({ nodeId, silentMs: Date.now() - session.lastHeardAt }, 'node down: three heartbeats missed');
      this.sessions.delete(nodeId);
      this.livenessChanged(nodeId);
      session.stream.emit('error', serviceError('UNAVAILABLE', '', 'no heartbeat for three intervals; reconnect'));
    }
  }

  service(): DispatcherServer {
    return {
      register: unary(async (request, call) => {
        // A worker's certificate names its node: that node, and no other, is what it may register.
        const worker = workerIdentity(call);
        await this.state.readBarrier();
        const revoked = worker && revokedError(this.state.store, worker.nodeId);
        if (revoked) return revoked;
        const existing = this.state.store.node(request.nodeName);
        const own = worker && this.state.store.node(worker.nodeId);
        if (own && own.id === worker.nodeId && own.name !== request.nodeName) {
          return serviceError(
            'PERMISSION_DENIED',
            'node_name',
            `node_name: this certificate's node ${worker.nodeId} is registered as "${own.name}"; one certificate registers one node (start the agent with --node ${own.name})`,
          );
        }
        if (worker && existing && existing.name === request.nodeName && existing.id !== worker.nodeId) {
          return serviceError(
            'PERMISSION_DENIED',
            'node_name',
            `node_name: "${request.nodeName}" is node ${existing.id}, not this certificate's node ${worker.nodeId}; remove it first (trellis node rm ${request.nodeName}) or choose another name`,
          );
        }
        const result = await this.state.propose({
          type: 'registerNode',
          id: worker?.nodeId ?? newId(),
          name: request.nodeName,
          advertiseAddr: request.advertiseAddr,
          gatewaySubnet: request.gatewaySubnet,
          reservedPorts: request.reservedPorts,
          interfaces: request.interfaces,
          linkKinds: request.linkKinds,
          ephemeralPortFirst: request.ephemeralPortFirst,
          ephemeralPortLast: request.ephemeralPortLast,
        });
        if (!result.ok) return fromStoreError(result.error);
        this.logger.info({ node: result.value.name, id: result.value.id }, 'node registered');
        return { nodeId: result.value.id };
      }),
      session: (stream: SessionStream) => this.openSession(stream),
    };
  }

  private notLeader(): ServiceError {
    const leader = this.state.leaderAddress() ?? '';
    const error = serviceError('UNAVAILABLE', '', `this manager does not lead; ${leader ? `the leader is ${leader}` : 'no leader is known yet'}`);
    error.metadata.set(leaderMetadataKey, leader);
    return error;
  }

  private openSession(stream: SessionStream): void {
    if (!this.state.isLeader()) {
      stream.emit('error', this.notLeader());
      return;
    }
    let nodeId: string | undefined;
    let ended = false;
    stream.on('data', (message: AgentMessage) => {
      const body = message.body;
      const session = nodeId === undefined ? undefined : this.sessions.get(nodeId);
      if (session?.stream === stream) session.lastHeardAt = Date.now();
      if (body?.$case === 'hello') {
        nodeId = body.value.nodeId;
        // Committing a new gossip key can fail (no quorum, leadership lost): the agent reconnects.
        this.hello(stream, body.value, () => ended).catch((cause: unknown) => stream.emit('error', asServiceError(cause)));
      } else if (body?.$case === 'programmed' && nodeId !== undefined) {
        const first = session?.stream === stream && !session.reported;
        if (session?.stream === stream) session.reported = true;
        this.reported(nodeId, body.value, first);
        this.observer?.programmed(nodeId, body.value.revision);
      } else if (body?.$case === 'memberEntries' && nodeId !== undefined && session?.stream === stream) {
        const answer = this.gossip.answer(nodeId, body.value, (networkId) => new Set(this.readiness.readyOn([networkId])));
        if (answer) {
          this.send(session, { $case: 'memberEntries', value: answer });
          this.observer?.memberEntriesAnswered?.();
        }
      }
    });
    const close = () => {
      ended = true;
      if (nodeId !== undefined && this.sessions.get(nodeId)?.stream === stream) {
        this.sessions.delete(nodeId);
        this.livenessChanged(nodeId);
        this.logger.info({ nodeId }, 'agent session closed');
      }
    };
    stream.on('end', () => {
      close();
      stream.end();
    });
    stream.on('error', close);
    stream.on('cancelled', close);
    stream.on('close', close);
  }

  /**
   * Opens the session a hello asks for. A gossip key other than the one stored is committed first,
   * so that the first view the agent gets is already the one of a node that gossips (or not).
   */
  private async hello(stream: SessionStream, hello: SessionHello, ended: () => boolean): Promise<void> {
    const { nodeId } = hello;
    const revoked = revokedError(this.state.store, nodeId);
    if (revoked) {
      stream.emit('error', revoked);
      return;
    }
    const worker = workerIdentity(stream);
    if (worker && worker.nodeId !== nodeId) {
      stream.emit('error', serviceError('PERMISSION_DENIED', 'node_id', `node_id: this certificate is node ${worker.nodeId}'s, not node ${nodeId}'s`));
      return;
    }
    if (!this.state.store.node(nodeId)) {
      stream.emit('error', serviceError('NOT_FOUND', 'node_id', `node_id: no node with id "${nodeId}"; register first`));
      return;
    }
    const publicKey = hello.gossipPublicKey.toLowerCase();
    if (publicKey !== '' && !gossipKeyPattern.test(publicKey)) {
      stream.emit(
        'error',
        serviceError('INVALID_ARGUMENT', 'gossip_public_key', `gossip_public_key: "${hello.gossipPublicKey}" is not a 32-byte key in hex (64 hex digits); restart the agent so that it makes its gossip key again`),
      );
      return;
    }
    const update = this.state.store.gossipKeyUpdate(nodeId, publicKey);
    if (update) {
      const result = await this.state.propose(update);
      if (!result.ok) {
        stream.emit('error', fromStoreError(result.error));
        return;
      }
      this.logger.info({ nodeId, gossips: publicKey !== '' }, 'node gossip key registered');
      if (ended()) return;
      if (!this.state.isLeader()) {
        stream.emit('error', this.notLeader());
        return;
      }
    }
    this.sessions.get(nodeId)?.stream.end();
    const held = hello.lastAppliedRevision;
    const session: AgentSession = {
      stream,
      lastHeardAt: Date.now(),
      sentRevision: undefined,
      resumeAt: held,
      assemblesDeltaParts: hello.assemblesDeltaParts,
      readinessOpened: false,
      reported: false,
      outbox: [],
      writing: false,
    };
    this.sessions.set(nodeId, session);
    this.heardSinceLeading.add(nodeId);
    this.livenessChanged(nodeId);
    this.logger.info({ nodeId, heldRevision: held }, 'agent session opened');
    const trust = this.currentTrustBundle();
    if (trust) this.send(session, { $case: 'trust', value: { caBundlePem: trust } });
    if (held <= this.state.store.revision) this.resume(nodeId, session);
  }

  private currentTrustBundle(): string | undefined {
    const root = this.state.store.rootCa();
    return root && trustBundlePem(root);
  }

  /** Leadership moved: agents must follow it, so their sessions here end with a pointer to the new leader. */
  private closeAll(): void {
    for (const session of this.sessions.values()) session.stream.emit('error', this.notLeader());
    this.sessions.clear();
    this.readiness.reset();
    this.gossip.reset();
  }

  /**
   * An agent (re)opened its session holding the view of `session.resumeAt`: it gets
   * the changes since, or, when it holds nothing or this store's journal no longer
   * reaches back that far, its whole view in chunks.
   */
  private resume(nodeId: string, session: AgentSession): void {
    const store = this.state.store;
    const changes = session.resumeAt === 0 ? undefined : store.changesSince(session.resumeAt);
    if (changes) {
      this.sendDelta(nodeId, session, store.viewDelta(nodeId, session.resumeAt, changes, this.endpointViews()));
      this.logger.info({ nodeId, from: session.resumeAt, to: store.revision }, 'agent session resumed with the changes since its revision');
    } else {
      this.resync(nodeId, session);
    }
    session.sentRevision = store.revision;
    this.sendWholeReadiness(nodeId, session);
    this.sendWholeDigests(nodeId, session);
  }

  /** A gossiping node's member digests, whole: once a session has its first view (and again with every whole view). */
  private sendWholeDigests(nodeId: string, session: AgentSession): void {
    if (!this.reader.gossips(nodeId)) return;
    const digests = this.gossip.digestsOn(nodeId, this.reader.hostedNetworks(nodeId));
    for (const part of memberDigestMessages({ replace: true, digests })) this.sendDigests(nodeId, session, part);
  }

  private sendDigestsTo(nodeId: string, digests: MemberDigest[]): void {
    const session = this.sessions.get(nodeId);
    if (!session || digests.length === 0) return;
    for (const part of memberDigestMessages({ replace: false, digests })) this.sendDigests(nodeId, session, part);
  }

  /** Member digests whose grace, for a member that lags on them, runs from when its stream took them. */
  private sendDigests(nodeId: string, session: AgentSession, part: MemberDigests): void {
    this.send(session, { $case: 'memberDigests', value: part }, () => this.gossip.told(nodeId, part.digests));
  }

  /** Members whose programmed digests have lagged past the grace period get the truth. */
  private correctLaggingMembers(): void {
    const corrected = this.gossip.correct();
    if (corrected > 0) this.observer?.digestsCorrected?.(corrected);
  }

  /**
   * The node's whole ready set, which changes then follow: once a session has its first view. It
   * covers its networks' endpoints and the ingress services' backends elsewhere (the routing mesh).
   */
  private sendWholeReadiness(nodeId: string, session: AgentSession): void {
    const store = this.state.store;
    const ready = [...this.readiness.readyOn(store.hostedNetworks(nodeId)), ...this.readiness.readyAmong(store.meshBackendsOutside(nodeId))];
    session.readinessOpened = true;
    this.sendReadiness(nodeId, session, { replace: true, readyEndpointIds: ready, unreadyEndpointIds: [] });
  }

  /** Each node gets the changes of its networks, and every node those of the ingress services' backends. */
  private sendReadinessChanges(changes: ReadinessChanges, everyNode: ReadinessChange): void {
    const toEveryNode = everyNode.ready.length > 0 || everyNode.unready.length > 0;
    for (const nodeId of toEveryNode ? this.sessions.keys() : changes.keys()) {
      const session = this.sessions.get(nodeId);
      const change = changes.get(nodeId);
      if (!session?.readinessOpened) continue;
      // A host of a backend's network is told of it twice otherwise.
      const ready = new Set([...(change?.ready ?? []), ...everyNode.ready]);
      const unready = new Set([...(change?.unready ?? []), ...everyNode.unready]);
      this.sendReadiness(nodeId, session, { replace: false, readyEndpointIds: [...ready], unreadyEndpointIds: [...unready] });
    }
  }

  /** To a gossiping node, only what its view holds: the readiness of other gossiping owners' endpoints travels in their gossip. */
  private sendReadiness(nodeId: string, session: AgentSession, readiness: EndpointReadiness): void {
    if (this.reader.gossips(nodeId)) {
      const hosted = this.reader.hostedNetworks(nodeId);
      // An endpoint gone is not in any view: telling of it is harmless.
      const inView = (id: string): boolean => {
        const place = this.reader.endpointPlace(id);
        return !place || place.ownerId === nodeId || !hosted.has(place.networkId) || !this.reader.gossips(place.ownerId);
      };
      const ready = readiness.readyEndpointIds.filter(inView);
      const unready = readiness.unreadyEndpointIds.filter(inView);
      if (!readiness.replace && ready.length === 0 && unready.length === 0) return;
      readiness = { replace: readiness.replace, readyEndpointIds: ready, unreadyEndpointIds: unready };
    }
    for (const part of readinessMessages(readiness)) this.send(session, { $case: 'readiness', value: part });
  }

  private resync(nodeId: string, session: AgentSession): void {
    const view = this.state.store.nodeView(nodeId, this.endpointViews());
    const { parts, dropped } = viewChunks(view);
    this.reportDropped(nodeId, view.revision, dropped);
    for (const chunk of parts) this.send(session, { $case: 'resync', value: chunk });
    this.logger.info({ nodeId, revision: view.revision, from: session.resumeAt, messages: parts.length }, 'agent sent its whole view');
  }

  /**
   * A delta in as many messages as its size needs; to an agent that cannot assemble
   * parts, one that needs several goes as a resync instead (chunks it does assemble).
   */
  private sendDelta(nodeId: string, session: AgentSession, delta: ViewDelta): void {
    const { parts, dropped } = deltaParts(delta);
    if (parts.length > 1 && !session.assemblesDeltaParts) {
      this.resync(nodeId, session);
    } else {
      this.reportDropped(nodeId, delta.revision, dropped);
      for (const part of parts) this.send(session, { $case: 'delta', value: part });
    }
    // Networks sent whole may be newly hosted, and backends of networks not hosted newly held (a
    // service got its first ingress port): their ready endpoints, which the node was not told.
    if (!session.readinessOpened) return;
    const hosted = new Set(delta.networkIds);
    const meshBackends = delta.endpoints.filter((endpoint) => !hosted.has(endpoint.networkId));
    if (delta.networks.length > 0 || meshBackends.length > 0) {
      const ready = [...this.readiness.readyOn(delta.networks.map((network) => network.id)), ...this.readiness.readyAmong(meshBackends)];
      if (ready.length > 0) this.sendReadiness(nodeId, session, { replace: false, readyEndpointIds: ready, unreadyEndpointIds: [] });
    }
    // Likewise the digests of members new to it: of networks sent whole, and members added.
    const newNetworks = delta.networks.map((network) => network.id);
    const digests = this.gossip.digestsOn(nodeId, newNetworks);
    const sent = new Set(newNetworks);
    for (const member of delta.members) if (!sent.has(member.networkId)) digests.push(this.gossip.digest(member.networkId, member.nodeId));
    this.sendDigestsTo(nodeId, digests);
  }

  /**
   * Items too large for any message (which the store's per-field limits prevent) are
   * left out rather than sent: one would end the agent's session on every resync, and
   * the node would never sync again. The node then lacks them, so say which.
   */
  private reportDropped(nodeId: string, revision: number, dropped: string[]): void {
    if (dropped.length === 0) return;
    this.logger.error(
      { nodeId, revision, dropped },
      'left out of the node\'s view: each is larger than a gRPC message may be; the node does not program them until they shrink',
    );
  }

  /**
   * Sends each connected node the changes since the last push that may concern it,
   * so a change costs in proportion to the nodes hosting what it touched, not to
   * the cluster (save a network created or removed: every view lists every overlay
   * subnet); the other sessions just move to the new revision (their view did not
   * change). When the store cannot say what changed (restored from a snapshot, or too
   * many revisions at once), every connected node gets its whole view.
   */
  private pushViews(): void {
    const store = this.state.store;
    const trust = this.currentTrustBundle();
    if (trust !== this.trustBundle) {
      this.trustBundle = trust;
      for (const session of this.sessions.values()) if (trust) this.send(session, { $case: 'trust', value: { caBundlePem: trust } });
    }
    const from = this.pushedRevision;
    const changes = store.changesSince(from);
    this.pushedRevision = store.revision;
    // Before any view goes out: digests sent with views must be those of this revision.
    const gossip = this.gossip.storeChanged(changes);
    // Endpoints added or removed change readiness on their networks (and who hosts them).
    if (changes) this.readiness.touch(new Set([...changes.endpoints.values(), ...gossip.touched]));
    else this.readiness.touchAll();
    const cache = this.endpointViews();
    for (const [nodeId, session] of this.sessions) {
      const revoked = revokedError(store, nodeId);
      if (revoked) {
        this.logger.warn({ nodeId }, 'agent session cut: its node was revoked');
        this.sessions.delete(nodeId);
        this.livenessChanged(nodeId);
        session.stream.emit('error', revoked);
        continue;
      }
      if (session.sentRevision === undefined) {
        if (session.resumeAt <= store.revision) this.resume(nodeId, session);
        continue;
      }
      if (session.sentRevision >= store.revision) continue;
      if (!changes) {
        this.resync(nodeId, session);
        this.sendWholeReadiness(nodeId, session);
        this.sendWholeDigests(nodeId, session);
      } else if (concernsNode(changes, nodeId)) {
        this.sendDelta(nodeId, session, store.viewDelta(nodeId, from, changes, cache));
      }
      session.sentRevision = store.revision;
    }
    // After the views: a member is told of an owner it already holds.
    for (const [nodeId, digests] of gossip.toMembers) this.sendDigestsTo(nodeId, digests);
  }

  /**
   * Endpoint views of the current revision, built once and shared by every view and
   * delta until the store moves on: a queued resync then holds references, not copies.
   */
  private endpointViews(): NetworkEndpointsCache {
    const revision = this.state.store.revision;
    if (this.viewCache.revision !== revision) this.viewCache = { revision, views: new Map() };
    return this.viewCache.views;
  }

  /** `written`: called once the stream has taken the message. */
  private send(session: AgentSession, body: ManagerMessage['body'], written?: () => void): void {
    session.outbox.push({ message: { body }, written });
    this.pump(session);
  }

  /**
   * Writes one message at a time, the next once the stream has taken the last: a
   * thousand agents resyncing at once then hold a chunk each in flight, not their whole
   * views, and each message is serialized only when it goes out.
   */
  private pump(session: AgentSession): void {
    if (session.writing) return;
    const next = session.outbox.shift();
    if (!next) return;
    session.writing = true;
    session.stream.write(next.message, () => {
      session.writing = false;
      next.written?.();
      this.pump(session);
    });
  }

  /**
   * The service definition to serve: like the generated one, but counting the bytes of
   * every message as it is serialized (once, on its way out).
   */
  serviceDefinition(): typeof DispatcherService {
    const session = DispatcherService.session;
    const observer = this.observer;
    if (!observer) return DispatcherService;
    return {
      ...DispatcherService,
      session: {
        ...session,
        responseSerialize: (message: ManagerMessage): Buffer => {
          const bytes = session.responseSerialize(message);
          const kind = message.body?.$case;
          if (kind) observer.sent(kind, bytes.length);
          return bytes;
        },
      },
    };
  }
}
