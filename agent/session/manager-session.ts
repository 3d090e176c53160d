import type { ChannelCredentials, ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  DispatcherClient,
  type AgentMessage,
  type ManagerMessage,
  type MemberDigests,
  type MemberEntries,
  type MemberProgrammed,
  type NodeView,
  type ProgrammedReport,
  type RegisterResponse,
} from '../../proto/gen/trellis/v1/dispatcher';
import type { ReservedPort } from '../../proto/gen/trellis/v1/types';
import { heartbeatIntervalMs } from '../../proto/runtime/heartbeat';
import { HeldView } from '../../proto/runtime/held-view';
import { managerChannelOptions } from '../../proto/runtime/tls';
import { UNKNOWN_NODE_FACTS, type NodeFacts } from '../node-facts/node-facts';
import { ManagerRotation } from './manager-rotation';

export interface ManagerSessionOptions {
  /** HOST:PORT of the managers; any one will do, the session moves to the leader. */
  managers: string[];
  /** mTLS with the node's certificate. */
  credentials: ChannelCredentials;
  nodeName: string;
  advertiseAddr: string;
  /** Reported at registration, so the managers keep networks out of it. */
  gatewaySubnet: string;
  /** Reported at registration, so the managers refuse publishing them. */
  reservedPorts: ReservedPort[];
  /** Reported at registration: the host's interfaces, the link kinds its kernel has, its ephemeral port range. Unknown when absent. */
  nodeFacts?: NodeFacts;
  logger: Logger;
  /** Called with the whole desired view after every resync or delta the manager sends, in order. */
  onView(view: NodeView): void;
  /** Called with the roots the cluster trusts, signing root first: on every session, and after a root CA rotation. */
  onTrust(caBundlePem: string): void;
  /** Called whenever the set of ready endpoints (see `readyEndpoints`) changes. */
  onReadiness?(ready: ReadonlySet<string>): void;
  /** This agent's gossip public key (hex), told in every SessionHello; absent: it does not gossip. */
  gossipPublicKey?: string;
  /** The leader's digests of the members' sets (gossiping agents only). */
  onMemberDigests?(digests: MemberDigests): void;
  /** The leader's answer to requestMemberEntries. */
  onMemberEntries?(entries: MemberEntries): void;
}

/** Every service of the view at its revision: what a node programs once its load balancer holds the whole view. */
export function everyServiceOf(view: NodeView): Record<string, number> {
  return Object.fromEntries(view.services.map((service) => [service.id, service.revision]));
}

const firstRetryMs = 200;
const maxRetryMs = 2000;
/** Where a follower says the leader is when it turns a session away (see the manager's dispatcher). */
const leaderMetadataKey = 'trellis-leader';

/**
 * Keeps the agent registered and in session with the leading manager:
 * reconnects with backoff whenever the stream breaks (trying the leader a
 * follower names first, then the next manager), and resumes from the last
 * programmed revision.
 */
export class ManagerSession {
  private readonly rotation: ManagerRotation;
  private client: DispatcherClient | undefined;
  private stream: ClientDuplexStream<AgentMessage, ManagerMessage> | undefined;
  private retryMs = firstRetryMs;
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Kept across sessions: a new session resumes from its revision with the changes since. */
  private readonly held = new HeldView();
  /** The last report, told again to each new session: a new leader then knows at once what this node programmed. */
  private lastReport: ProgrammedReport | undefined;
  /** Every member digest the last report stood for (MemberProgrammed by memberKey); lastReport carries only the changes. */
  private programmedMembers = new Map<string, MemberProgrammed>();
  /** The member digests the current session has been told, so each report carries only what changed. */
  private toldMembers = new Map<string, string>();

  constructor(private readonly options: ManagerSessionOptions) {
    this.rotation = new ManagerRotation(options.managers);
  }

  start(): void {
    void this.connect();
  }

  /** The manager this session talks to now (or tries next). */
  currentManager(): string {
    return this.rotation.current();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeat);
    this.stream?.cancel();
    this.client?.close();
  }

  /**
   * Tells the manager the kernel now holds `view`, but for the endpoints of the view the pass could
   * not program, and that it holds the rules of `services` (service id → revision).
   */
  reportProgrammed(
    view: NodeView,
    unprogrammedEndpointIds: readonly string[] = [],
    services: Record<string, number> = everyServiceOf(view),
    members: readonly MemberProgrammed[] = [],
  ): void {
    const networks = Object.fromEntries(view.networks.map((network) => [network.id, view.revision]));
    this.programmedMembers = new Map(members.map((member) => [memberKey(member), { ...member }]));
    this.lastReport = { revision: view.revision, networks, unprogrammedEndpointIds: [...unprogrammedEndpointIds], members: [], services: { ...services } };
    this.tell(this.lastReport);
  }

  /** A gossiping agent's fallback: asks the leader for a member's endpoints on a network (answered through onMemberEntries). */
  requestMemberEntries(networkId: string, ownerNodeId: string): void {
    this.stream?.write({ body: { $case: 'memberEntries', value: { networkId, ownerNodeId } } });
  }

  /**
   * Starts from a view saved by an earlier start (a gossiping agent, agent/session/view-file.ts):
   * the first session resumes from its revision, with these endpoints ready until the manager says.
   */
  adopt(view: NodeView, readyEndpointIds: readonly string[]): void {
    this.held.adopt(view, readyEndpointIds);
  }

  /** The endpoints the manager says are ready: only those may take new flows through a service. */
  readyEndpoints(): ReadonlySet<string> {
    return this.held.readyEndpoints();
  }

  private async connect(): Promise<void> {
    this.client?.close();
    this.client = new DispatcherClient(this.rotation.current(), this.options.credentials, {
      ...managerChannelOptions,
      'grpc.keepalive_time_ms': 5000,
      'grpc.keepalive_timeout_ms': 3000,
    });
    try {
      const { nodeId } = await this.register(this.client);
      this.openStream(this.client, nodeId);
    } catch (error) {
      this.retryLater(error);
    }
  }

  private register(client: DispatcherClient): Promise<RegisterResponse> {
    const { nodeName, advertiseAddr, gatewaySubnet, reservedPorts, nodeFacts = UNKNOWN_NODE_FACTS } = this.options;
    return new Promise((resolve, reject) =>
      client.register({ nodeName, advertiseAddr, gatewaySubnet, reservedPorts, ...nodeFacts }, (error, response) => (error ? reject(error) : resolve(response))),
    );
  }

  private openStream(client: DispatcherClient, nodeId: string): void {
    const stream = client.session();
    this.stream = stream;
    stream.on('data', (message: ManagerMessage) => {
      this.retryMs = firstRetryMs;
      const body = message.body;
      if (body?.$case === 'trust') this.options.onTrust(body.value.caBundlePem);
      if (body?.$case === 'delta') {
        const view = this.held.applyDelta(body.value);
        if (view) this.options.onView(view);
      }
      if (body?.$case === 'resync') {
        const view = this.held.applyChunk(body.value);
        if (view) this.options.logger.info({ revision: view.revision }, 'whole view received (resync)');
        if (view) this.options.onView(view);
      }
      if (body?.$case === 'readiness' && this.held.applyReadiness(body.value)) this.options.onReadiness?.(this.held.readyEndpoints());
      if (body?.$case === 'memberDigests') this.options.onMemberDigests?.(body.value);
      if (body?.$case === 'memberEntries') this.options.onMemberEntries?.(body.value);
    });
    stream.on('error', (error: ServiceError) => this.onStreamClosed(stream, error));
    stream.on('end', () => this.onStreamClosed(stream, new Error('manager ended the session')));
    this.held.discardPartial();
    const gossipPublicKey = this.options.gossipPublicKey ?? '';
    stream.write({ body: { $case: 'hello', value: { nodeId, lastAppliedRevision: this.held.revision, assemblesDeltaParts: true, gossipPublicKey } } });
    // A new session has been told no member digest: its first report carries every one.
    this.toldMembers = new Map();
    if (this.lastReport) this.tell(this.lastReport);
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => stream.write({ body: { $case: 'heartbeat', value: {} } }), heartbeatIntervalMs);
    this.options.logger.info({ manager: this.rotation.current(), nodeId }, 'session opened');
  }

  /**
   * Writes a report on the current session (if any) with the member digests that session has not
   * been told yet: a pair programmed before and gone now is told with digest '' (nothing
   * programmed of it).
   */
  private tell(report: ProgrammedReport): void {
    const stream = this.stream;
    if (!stream) return;
    const members: MemberProgrammed[] = [];
    for (const [key, member] of this.programmedMembers) {
      if (this.toldMembers.get(key) === member.digest) continue;
      members.push(member);
      this.toldMembers.set(key, member.digest);
    }
    for (const key of this.toldMembers.keys()) {
      if (this.programmedMembers.has(key)) continue;
      const [networkId = '', ownerNodeId = ''] = key.split('\0');
      members.push({ networkId, ownerNodeId, digest: '' });
      this.toldMembers.delete(key);
    }
    stream.write({ body: { $case: 'programmed', value: { ...report, members } } });
  }

  private onStreamClosed(stream: ClientDuplexStream<AgentMessage, ManagerMessage>, error: Error): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    clearInterval(this.heartbeat);
    this.retryLater(error);
  }

  private retryLater(error: unknown): void {
    if (this.stopped) return;
    const leader = (error as Partial<ServiceError>).metadata?.get(leaderMetadataKey)[0];
    const next = this.rotation.advance(typeof leader === 'string' ? leader : undefined);
    // A named leader is worth trying at once; otherwise back off before the next manager.
    const delayMs = leader ? 0 : this.retryMs;
    this.options.logger.warn({ err: error, next, retryMs: delayMs }, 'manager session lost; retrying');
    this.retryTimer = setTimeout(() => void this.connect(), delayMs);
    if (!leader) this.retryMs = Math.min(this.retryMs * 2, maxRetryMs);
  }
}

/** Ids hold no NUL: no two (network, owner) pairs share a key. */
function memberKey(member: Pick<MemberProgrammed, 'networkId' | 'ownerNodeId'>): string {
  return `${member.networkId}\0${member.ownerNodeId}`;
}
