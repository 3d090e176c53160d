import type { ChannelCredentials, ClientDuplexStream } from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DispatcherClient, type AgentMessage, type ManagerMessage, type MemberProgrammed, type NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { heartbeatIntervalMs } from '../../proto/runtime/heartbeat';
import { managerChannelOptions } from '../../proto/runtime/tls';
import { FakeGossip } from './fake-gossip';
import { inPool } from './pool';

type Session = ClientDuplexStream<AgentMessage, ManagerMessage>;

/** What a session message adds to an agent's view: a resync chunk's part, or a delta. */
export type ViewUpdate = Pick<NodeView, 'sandboxes' | 'endpoints'>;

/** One change being timed: what an update must carry, to which nodes, and when it did. */
export interface Watch {
  matches: (update: ViewUpdate) => boolean;
  expected: Set<string>;
  arrivals: Map<string, number>;
  done: () => void;
}

export interface FakeAgentOptions {
  /** Every agent says it gossips (a key in its hello) and stands in for gossip as FakeGossip describes. */
  gossip?: boolean;
}

/** One fake agent's session and what it reports from. */
interface FakeSession {
  nodeId: string;
  stream: Session;
  /** The networks of the view, reported programmed like a real agent's (which the leader's readiness follows). */
  hosted: Set<string>;
  /** The revision of the last complete view; 0 before the first. */
  revision: number;
  /** Member digests programmed and not reported yet (gossip only). */
  unreported: MemberProgrammed[];
}

/** gRPC channels the sessions are spread over (one HTTP/2 connection each), as real agents would not share one. */
const channels = 16;
/** Gossiping agents' sessions opening at once: each costs the leader a whole member digest set. */
const gossipHellosInFlight = 16;

/** A fake agent's gossip key: 32 bytes of hex, distinct per node. */
function gossipKey(nodeId: string): string {
  return createHash('sha256').update(nodeId).digest('hex');
}

/**
 * Agents with a fake data plane: each holds a real Dispatcher session, takes every
 * view as programmed at once (a ProgrammedReport straight back) and heartbeats
 * like the real agent. Views are checked against the watches and then dropped.
 */
export class FakeAgents {
  private readonly clients: DispatcherClient[];
  private readonly sessions = new Map<string, FakeSession>();
  private readonly gossip: FakeGossip | undefined;
  /** Per node watched: when each endpoint was first said ready to it. */
  private readonly readyAt = new Map<string, Map<string, number>>();
  private readonly firstViews = new Map<string, () => void>();
  private readonly watches = new Set<Watch>();
  private heartbeat: NodeJS.Timeout | undefined;
  /** Complete views: a resync's last chunk, or a delta. */
  viewsReceived = 0;
  readonly messagesReceived = { resync: 0, delta: 0 };
  sessionErrors = 0;
  /** EndpointReadiness messages: a whole set per session, then changes. */
  readinessReceived = 0;
  /** MemberDigests that were not a session's whole set: what the leader pushed to members afterwards. */
  memberDigestPushes = 0;

  /** `nodeCredentials`: a node certificate (worker or manager) the Dispatcher accepts, shared by every session. */
  constructor(address: string, nodeCredentials: ChannelCredentials, options: FakeAgentOptions = {}) {
    this.gossip = options.gossip ? new FakeGossip((memberId, member) => this.programMember(memberId, member)) : undefined;
    this.clients = Array.from({ length: channels }, (_, i) =>
      new DispatcherClient(address, nodeCredentials, {
        ...managerChannelOptions,
        // Distinct options keep grpc-js from pooling the channels into one connection.
        'grpc.bench_channel': i,
        'grpc.max_receive_message_length': 256 * 1024 * 1024,
      }),
    );
  }

  /** Opens one session per node and resolves once each has its first view. */
  async open(nodeIds: string[]): Promise<void> {
    this.heartbeat = setInterval(() => {
      for (const session of this.sessions.values()) session.stream.write({ body: { $case: 'heartbeat', value: {} } });
    }, heartbeatIntervalMs / 2);
    const opening = async (index: number): Promise<void> => {
      const nodeId = nodeIds[index] ?? '';
      const first = new Promise<void>((resolve) => this.firstViews.set(nodeId, resolve));
      this.openOne(nodeId, this.clients[index % channels] as DispatcherClient);
      await first;
    };
    if (this.gossip) await inPool(nodeIds.length, gossipHellosInFlight, opening);
    else await Promise.all(nodeIds.map((_, index) => opening(index)));
  }

  /**
   * Gossiping agents only: each node says hello with its key once, on a short session that closes
   * at its first view, so that the key is stored. Call it before the nodes host anything: a key
   * registered then changes no other node's view. Registered with every session open on the full
   * layout, every registration changed every co-member's view (deltas to each, reports back), and
   * a thousand of them kept the leader past its 5 s proposal timeout, whose unhandled rejection in
   * the hello ended it.
   */
  async registerGossipKeys(nodeIds: string[]): Promise<void> {
    if (!this.gossip) return;
    await inPool(nodeIds.length, gossipHellosInFlight, async (index) => {
      const nodeId = nodeIds[index] ?? '';
      const stream = (this.clients[index % channels] as DispatcherClient).session();
      await new Promise<void>((resolve, reject) => {
        stream.on('data', (message: ManagerMessage) => {
          const body = message.body;
          if (body?.$case === 'delta' || (body?.$case === 'resync' && body.value.last)) resolve();
        });
        stream.on('error', reject);
        stream.write({ body: { $case: 'hello', value: { nodeId, lastAppliedRevision: 0, assemblesDeltaParts: false, gossipPublicKey: gossipKey(nodeId) } } });
      });
      stream.removeAllListeners('error');
      stream.on('error', () => undefined);
      stream.cancel();
    });
  }

  private openOne(nodeId: string, client: DispatcherClient): void {
    const session: FakeSession = { nodeId, stream: client.session(), hosted: new Set(), revision: 0, unreported: [] };
    this.sessions.set(nodeId, session);
    session.stream.on('data', (message: ManagerMessage) => this.receive(session, message));
    session.stream.on('error', () => {
      this.sessionErrors += 1;
    });
    // Each delta counts as a whole view here, so deltas too large for one message come as resyncs.
    const gossipPublicKey = this.gossip ? gossipKey(nodeId) : '';
    session.stream.write({ body: { $case: 'hello', value: { nodeId, lastAppliedRevision: 0, assemblesDeltaParts: false, gossipPublicKey } } });
  }

  private receive(session: FakeSession, message: ManagerMessage): void {
    const body = message.body;
    if (body?.$case === 'readiness') {
      this.readinessReceived += 1;
      const readyAt = this.readyAt.get(session.nodeId);
      const now = performance.now();
      for (const endpointId of readyAt ? body.value.readyEndpointIds : []) if (!readyAt?.has(endpointId)) readyAt?.set(endpointId, now);
    }
    if (body?.$case === 'memberDigests') {
      if (!body.value.replace) this.memberDigestPushes += 1;
      // Programmed in one pass and reported together, as a real agent reports a pass (not one report per digest).
      session.unreported.push(...body.value.digests.map(({ networkId, nodeId, digest }) => ({ networkId, ownerNodeId: nodeId, digest })));
      if (session.revision > 0) this.report(session);
    }
    if (body?.$case !== 'delta' && body?.$case !== 'resync') return;
    const update = body.$case === 'delta' ? body.value : body.value.part;
    if (!update) return;
    if (body.$case === 'delta') session.hosted = new Set(body.value.networkIds);
    else {
      if (body.value.first) session.hosted = new Set();
      for (const network of body.value.part?.networks ?? []) session.hosted.add(network.id);
    }
    this.gossip?.update(session.nodeId, body);
    this.messagesReceived[body.$case] += 1;
    this.onUpdate(session.nodeId, update);
    if (body.$case === 'delta' || body.value.last) {
      this.viewsReceived += 1;
      this.firstViews.get(session.nodeId)?.();
      this.firstViews.delete(session.nodeId);
      session.revision = update.revision;
      this.report(session);
      this.gossip?.viewComplete(session.nodeId, body, (networkId) => this.membersOn(networkId, session.nodeId));
    }
  }

  /** The other gossiping agents hosting the network now. */
  private membersOn(networkId: string, ownerId: string): string[] {
    return [...this.sessions.values()].filter((other) => other.nodeId !== ownerId && other.hosted.has(networkId)).map((other) => other.nodeId);
  }

  /** The member has programmed the owner's set (digest): reported at once, or with its first view. */
  private programMember(memberId: string, member: MemberProgrammed): void {
    const session = this.sessions.get(memberId);
    if (!session) return;
    session.unreported.push(member);
    if (session.revision > 0) this.report(session);
  }

  /** Everything is programmed at once: the view's networks at its revision, and the member digests not reported yet. */
  private report(session: FakeSession): void {
    const networks = Object.fromEntries([...session.hosted].map((id) => [id, session.revision]));
    const members = session.unreported.splice(0);
    session.stream.write({ body: { $case: 'programmed', value: { revision: session.revision, networks, unprogrammedEndpointIds: [], members, services: {} } } });
  }

  private onUpdate(nodeId: string, update: ViewUpdate): void {
    const now = performance.now();
    for (const watch of this.watches) {
      if (!watch.expected.has(nodeId) || watch.arrivals.has(nodeId)) continue;
      if (!watch.matches(update)) continue;
      watch.arrivals.set(nodeId, now);
      if (watch.arrivals.size === watch.expected.size) watch.done();
    }
  }

  /**
   * Watches for views that `matches` on the `expected` nodes, from now; make the change
   * after calling this. Resolves with the arrival times once all have one, or after `timeoutMs`.
   */
  watch(matches: (update: ViewUpdate) => boolean, expected: Set<string>, timeoutMs: number): Promise<Watch> {
    let resolveDone: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    const watch: Watch = { matches, expected, arrivals: new Map(), done: resolveDone };
    this.watches.add(watch);
    const timer = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
    return Promise.race([done, timer]).then(() => {
      this.watches.delete(watch);
      return watch;
    });
  }

  /** From now on, notes when each endpoint is first said ready to the node (readyAt). */
  recordReadiness(nodeId: string): void {
    if (!this.readyAt.has(nodeId)) this.readyAt.set(nodeId, new Map());
  }

  /** When the endpoint was first said ready to a node given to recordReadiness; undefined if not yet. */
  readyAtMs(nodeId: string, endpointId: string): number | undefined {
    return this.readyAt.get(nodeId)?.get(endpointId);
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const session of this.sessions.values()) session.stream.cancel();
    for (const client of this.clients) client.close();
  }
}
