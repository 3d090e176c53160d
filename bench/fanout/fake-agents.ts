import type { ChannelCredentials, ClientDuplexStream } from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import { DispatcherClient, type AgentMessage, type ManagerMessage, type NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import { heartbeatIntervalMs } from '../../proto/runtime/heartbeat';
import { managerChannelOptions } from '../../proto/runtime/tls';

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

/** gRPC channels the sessions are spread over (one HTTP/2 connection each), as real agents would not share one. */
const channels = 16;

/**
 * Agents with a fake data plane: each holds a real Dispatcher session, takes every
 * view as programmed at once (a ProgrammedReport straight back) and heartbeats
 * like the real agent. Views are checked against the watches and then dropped.
 */
export class FakeAgents {
  private readonly clients: DispatcherClient[];
  private readonly sessions: Session[] = [];
  private readonly firstViews = new Map<string, () => void>();
  private readonly watches = new Set<Watch>();
  private heartbeat: NodeJS.Timeout | undefined;
  /** Complete views: a resync's last chunk, or a delta. */
  viewsReceived = 0;
  readonly messagesReceived = { resync: 0, delta: 0 };
  sessionErrors = 0;
  /** EndpointReadiness messages: a whole set per session, then changes. */
  readinessReceived = 0;

  /** `nodeCredentials`: a node certificate (worker or manager) the Dispatcher accepts, shared by every session. */
  constructor(address: string, nodeCredentials: ChannelCredentials) {
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
    const firsts = nodeIds.map((nodeId, index) => {
      const first = new Promise<void>((resolve) => this.firstViews.set(nodeId, resolve));
      this.openOne(nodeId, this.clients[index % channels] as DispatcherClient);
      return first;
    });
    this.heartbeat = setInterval(() => {
      for (const session of this.sessions) session.write({ body: { $case: 'heartbeat', value: {} } });
    }, heartbeatIntervalMs / 2);
    await Promise.all(firsts);
  }

  private openOne(nodeId: string, client: DispatcherClient): void {
    const session = client.session();
    this.sessions.push(session);
    // The networks of the view, reported programmed like a real agent's (which the leader's readiness follows).
    let hosted = new Set<string>();
    session.on('data', (message: ManagerMessage) => {
      const body = message.body;
      if (body?.$case === 'readiness') this.readinessReceived += 1;
      if (body?.$case !== 'delta' && body?.$case !== 'resync') return;
      const update = body.$case === 'delta' ? body.value : body.value.part;
      if (!update) return;
      if (body.$case === 'delta') hosted = new Set(body.value.networkIds);
      else {
        if (body.value.first) hosted = new Set();
        for (const network of body.value.part?.networks ?? []) hosted.add(network.id);
      }
      this.messagesReceived[body.$case] += 1;
      this.onUpdate(nodeId, update);
      if (body.$case === 'delta' || body.value.last) {
        this.viewsReceived += 1;
        this.firstViews.get(nodeId)?.();
        this.firstViews.delete(nodeId);
        const networks = Object.fromEntries([...hosted].map((id) => [id, update.revision]));
        session.write({ body: { $case: 'programmed', value: { revision: update.revision, networks, unprogrammedEndpointIds: [], members: [], services: {} } } });
      }
    });
    session.on('error', () => {
      this.sessionErrors += 1;
    });
    // Each delta counts as a whole view here, so deltas too large for one message come as resyncs.
    session.write({ body: { $case: 'hello', value: { nodeId, lastAppliedRevision: 0, assemblesDeltaParts: false, gossipPublicKey: '' } } });
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

  close(): void {
    clearInterval(this.heartbeat);
    for (const session of this.sessions) session.cancel();
    for (const client of this.clients) client.close();
  }
}
