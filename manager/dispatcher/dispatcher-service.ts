import type { ServerDuplexStream, ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  type AgentMessage,
  type DispatcherServer,
  type ManagerMessage,
} from '../../proto/gen/trellis/v1/dispatcher';
import { NodeStatus, type Node } from '../../proto/gen/trellis/v1/types';
import { serviceError, fromStoreError } from '../api/status';
import { unary } from '../api/unary';
import type { ClusterState } from '../cluster/cluster-state';
import type { NetworkEndpointsCache } from '../store';
import { newId } from '../ids';
import { heartbeatIntervalMs, nodeDownAfterMs } from '../../proto/runtime/heartbeat';

type SessionStream = ServerDuplexStream<AgentMessage, ManagerMessage>;

interface AgentSession {
  stream: SessionStream;
  /** When the agent last said anything (a heartbeat at least every second). */
  lastHeardAt: number;
}

/** Instrumentation hooks (metrics); called synchronously, so they must be cheap and must not throw. */
export interface DispatcherObserver {
  /** `nodeId`'s agent reported having programmed its view up to `revision` (in its hello or a ProgrammedReport). */
  programmed(nodeId: string, revision: number): void;
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
  private readonly appliedRevisions = new Map<string, number>();
  /** The store revision views were last pushed for; the store says which nodes changed since. */
  private pushedRevision: number;
  private readonly sweeper: NodeJS.Timeout;
  private lastSweepAt = Date.now();

  constructor(
    private readonly state: ClusterState,
    private readonly logger: Logger,
    private readonly observer?: DispatcherObserver,
  ) {
    this.pushedRevision = state.store.revision;
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
    return {
      ...node,
      status: this.isHeard(node.id) ? NodeStatus.NODE_STATUS_READY : NodeStatus.NODE_STATUS_DOWN,
      appliedRevision: this.appliedRevisions.get(node.id) ?? 0,
    };
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
      session.stream.emit('error', serviceError('UNAVAILABLE', '', 'no heartbeat for three intervals; reconnect'));
    }
  }

  service(): DispatcherServer {
    return {
      register: unary(async (request) => {
        const result = await this.state.propose({
          type: 'registerNode',
          id: newId(),
          name: request.nodeName,
          advertiseAddr: request.advertiseAddr,
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
        if (!this.state.store.node(nodeId)) {
          stream.emit('error', serviceError('NOT_FOUND', 'node_id', `node_id: no node with id "${nodeId}"; register first`));
          return;
        }
        this.sessions.get(nodeId)?.stream.end();
        this.sessions.set(nodeId, { stream, lastHeardAt: Date.now() });
        this.appliedRevisions.set(nodeId, body.value.lastAppliedRevision);
        this.observer?.programmed(nodeId, body.value.lastAppliedRevision);
        this.logger.info({ nodeId }, 'agent session opened');
        this.sendView(nodeId);
      } else if (body?.$case === 'programmed' && nodeId !== undefined) {
        this.appliedRevisions.set(nodeId, body.value.revision);
        this.observer?.programmed(nodeId, body.value.revision);
      }
    });
    const close = () => {
      if (nodeId !== undefined && this.sessions.get(nodeId)?.stream === stream) {
        this.sessions.delete(nodeId);
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

  /** Leadership moved: agents must follow it, so their sessions here end with a pointer to the new leader. */
  private closeAll(): void {
    for (const session of this.sessions.values()) session.stream.emit('error', this.notLeader());
    this.sessions.clear();
  }

  /**
   * Sends a fresh view to each connected node the changes since the last push may
   * concern, so a change costs in proportion to the nodes hosting what it touched,
   * not to the cluster. When the store cannot say (restored from a snapshot, or too
   * many revisions at once), every connected node gets one.
   */
  private pushViews(): void {
    const store = this.state.store;
    const affected = store.affectedNodesSince(this.pushedRevision);
    this.pushedRevision = store.revision;
    const cache: NetworkEndpointsCache = new Map();
    for (const nodeId of affected ?? [...this.sessions.keys()]) this.sendView(nodeId, cache);
  }

  private sendView(nodeId: string, cache?: NetworkEndpointsCache): void {
    const session = this.sessions.get(nodeId);
    if (!session) return;
    session.stream.write({ body: { $case: 'view', value: this.state.store.nodeView(nodeId, cache) } });
  }
}
