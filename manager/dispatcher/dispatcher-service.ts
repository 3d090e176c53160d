import type { ServerDuplexStream, ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  DispatcherService,
  type AgentMessage,
  type ManagerMessage,
  type DispatcherServer,
  type EndpointReadiness,
  type ProgrammedReport,
  type ViewDelta,
} from '../../proto/gen/trellis/v1/dispatcher';
import { NodeStatus, type Node } from '../../proto/gen/trellis/v1/types';
import { serviceError, fromStoreError } from '../api/status';
import { unary } from '../api/unary';
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
import { deltaParts, readinessMessages, viewChunks } from './view-chunks';

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
  /** Messages not yet handed to the stream: one is written at a time (see `pump`). */
  outbox: ManagerMessage[];
  writing: boolean;
}

/** Instrumentation hooks (metrics); called synchronously, so they must be cheap and must not throw. */
export interface DispatcherObserver {
  /** `nodeId`'s agent reported having programmed its view up to `revision` (in its hello or a ProgrammedReport). */
  programmed(nodeId: string, revision: number): void;
  /** A message of the view went out: part of a full resync, or a delta. */
  sent(kind: 'resync' | 'delta', bytes: number): void;
}

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
  private readonly sessions = new Map<string, AgentSession>();
  /** What each node's agent last reported as programmed; kept after its session ends. */
  private readonly programmed = new Map<string, { report: ProgrammedReport; unprogrammed: ReadonlySet<string> }>();
  /** Which endpoints are ready, told to every session (see ReadinessTracker). */
  private readonly readiness: ReadinessTracker;
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
  ) {
    this.pushedRevision = state.store.revision;
    this.readiness = new ReadinessTracker(
      {
        networkEndpointNodes: (networkId) => this.state.store.networkEndpointNodes(networkId),
        programmingOf: (nodeId) => this.programmingOf(nodeId),
      },
      (changes, everyNode) => this.sendReadinessChanges(changes, everyNode),
    );
    state.onChange(() => this.pushViews());
    state.onLeadershipChange((leading) => {
      if (!leading) this.closeAll();
    });
    this.sweeper = setInterval(() => this.cutSilentSessions(), heartbeatIntervalMs);
  }

  close(): void {
    clearInterval(this.sweeper);
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
      unprogrammedEndpointIds: [...(report?.unprogrammedEndpointIds ?? [])],
      programmedServices: { ...report?.services },
    };
  }

  /** Readiness counts a node live while its agent holds a session (a silent one is cut within a heartbeat interval). */
  private programmingOf(nodeId: string): HostProgramming | undefined {
    const programmed = this.programmed.get(nodeId);
    const live = this.sessions.has(nodeId);
    if (!programmed && !live) return undefined;
    return { live, networks: programmed?.report.networks ?? {}, unprogrammed: programmed?.unprogrammed ?? new Set() };
  }

  /** A node's session opened or ended: its endpoints, and what its networks wait for, change. */
  private livenessChanged(nodeId: string): void {
    this.readiness.touch(this.state.store.hostedNetworks(nodeId));
  }

  /** Touches the networks whose readiness a new report from `nodeId` may change. */
  private reported(nodeId: string, report: ProgrammedReport): void {
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
    stream.on('data', (message: AgentMessage) => {
      const body = message.body;
      const session = nodeId === undefined ? undefined : this.sessions.get(nodeId);
      if (session?.stream === stream) session.lastHeardAt = Date.now();
      if (body?.$case === 'hello') {
        nodeId = body.value.nodeId;
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
        this.sessions.get(nodeId)?.stream.end();
        const held = body.value.lastAppliedRevision;
        const session: AgentSession = {
          stream,
          lastHeardAt: Date.now(),
          sentRevision: undefined,
          resumeAt: held,
          assemblesDeltaParts: body.value.assemblesDeltaParts,
          readinessOpened: false,
          outbox: [],
          writing: false,
        };
        this.sessions.set(nodeId, session);
        this.livenessChanged(nodeId);
        this.logger.info({ nodeId, heldRevision: held }, 'agent session opened');
        const trust = this.currentTrustBundle();
        if (trust) this.send(session, { $case: 'trust', value: { caBundlePem: trust } });
        if (held <= this.state.store.revision) this.resume(nodeId, session);
      } else if (body?.$case === 'programmed' && nodeId !== undefined) {
        this.reported(nodeId, body.value);
        this.observer?.programmed(nodeId, body.value.revision);
      }
    });
    const close = () => {
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

  private currentTrustBundle(): string | undefined {
    const root = this.state.store.rootCa();
    return root && trustBundlePem(root);
  }

  /** Leadership moved: agents must follow it, so their sessions here end with a pointer to the new leader. */
  private closeAll(): void {
    for (const session of this.sessions.values()) session.stream.emit('error', this.notLeader());
    this.sessions.clear();
    this.readiness.reset();
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
  }

  /**
   * The node's whole ready set, which changes then follow: once a session has its first view. It
   * covers its networks' endpoints and the ingress services' backends elsewhere (the routing mesh).
   */
  private sendWholeReadiness(nodeId: string, session: AgentSession): void {
    const store = this.state.store;
    const ready = [...this.readiness.readyOn(store.hostedNetworks(nodeId)), ...this.readiness.readyAmong(store.meshBackendsOutside(nodeId))];
    session.readinessOpened = true;
    this.sendReadiness(session, { replace: true, readyEndpointIds: ready, unreadyEndpointIds: [] });
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
      this.sendReadiness(session, { replace: false, readyEndpointIds: [...ready], unreadyEndpointIds: [...unready] });
    }
  }

  private sendReadiness(session: AgentSession, readiness: EndpointReadiness): void {
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
    if (delta.networks.length === 0 && meshBackends.length === 0) return;
    const ready = [...this.readiness.readyOn(delta.networks.map((network) => network.id)), ...this.readiness.readyAmong(meshBackends)];
    if (ready.length > 0) this.sendReadiness(session, { replace: false, readyEndpointIds: ready, unreadyEndpointIds: [] });
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
    // Endpoints added or removed change readiness on their networks (and who hosts them).
    if (changes) this.readiness.touch(new Set(changes.endpoints.values()));
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
      } else if (concernsNode(changes, nodeId)) {
        this.sendDelta(nodeId, session, store.viewDelta(nodeId, from, changes, cache));
      }
      session.sentRevision = store.revision;
    }
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

  private send(session: AgentSession, body: ManagerMessage['body']): void {
    session.outbox.push({ body });
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
    session.stream.write(next, () => {
      session.writing = false;
      this.pump(session);
    });
  }

  /**
   * The service definition to serve: like the generated one, but counting the bytes of
   * every view message as it is serialized (once, on its way out).
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
          if (kind === 'resync' || kind === 'delta') observer.sent(kind, bytes.length);
          return bytes;
        },
      },
    };
  }
}
