import { GossipEntry, GossipMessage } from '../../proto/gen/trellis/v1/gossip';
import { GossipAgent } from './gossip-agent';
import { describe, TestManager } from './test-manager';
import { InProcessNetwork, type InProcessTransport } from './test-transport';

export const TIMERS = { fallbackAfterMs: 5_000, antiEntropyIntervalMs: 10_000, antiEntropyPeers: 2, tombstoneTtlMs: 8_000 };

interface Agent {
  nodeId: string;
  /** What the node keeps on disk across restarts: its incarnation. Everything else is lost. */
  epoch: number;
  vtep: string;
  agent: GossipAgent;
  transport: InProcessTransport;
  asks: { networkId: string; ownerNodeId: string }[];
  removed: boolean;
}

/**
 * Agents over an InProcessNetwork, a TestManager holding the truth, and a fake clock: the
 * gossip property tests drive it step by step, then quiesce it and compare tables to the truth.
 */
export class TestCluster {
  now = 0;
  readonly network = new InProcessNetwork();
  readonly manager = new TestManager();
  private readonly agents = new Map<string, Agent>();
  private vteps = 0;

  constructor(nodes: number) {
    for (let index = 0; index < nodes; index++) {
      const nodeId = `node${index}`;
      const vtep = this.nextVtep();
      this.manager.addNode(nodeId, vtep);
      this.agents.set(nodeId, this.start(nodeId, 1, vtep));
    }
  }

  private nextVtep(): string {
    this.vteps++;
    return `198.18.${this.vteps >> 8}.${this.vteps & 255}`;
  }

  private start(nodeId: string, epoch: number, vtep: string): Agent {
    const transport = this.network.open(nodeId);
    const asks: Agent['asks'] = [];
    const agent = new GossipAgent({
      nodeId,
      epoch,
      transport,
      now: () => this.now,
      ...TIMERS,
      askManager: (networkId, ownerNodeId) => asks.push({ networkId, ownerNodeId }),
      onTableChange: () => undefined,
    });
    return { nodeId, epoch, vtep, agent, transport, asks, removed: false };
  }

  /** Nodes still in the cluster. */
  live(): Agent[] {
    return [...this.agents.values()].filter((agent) => !agent.removed);
  }

  all(): Agent[] {
    return [...this.agents.values()];
  }

  /** The node's session delivers the managers' current view of it. */
  deliverView(agent: Agent): void {
    if (agent.removed) return;
    const view = this.manager.view(agent.nodeId);
    agent.agent.setNetworks(view.networks);
    agent.agent.setOwnEndpoints(view.own.map((endpoint) => ({ ...endpoint, vtep: agent.vtep })), view.revision);
  }

  /** The leader sends the node every member's digest (a session opening, or its corrections). */
  deliverDigests(agent: Agent): void {
    if (!agent.removed) agent.agent.setDigests(this.manager.digests(agent.nodeId), true);
  }

  /** The agent process restarts: everything but its state directory (the epoch) is lost; maybe on another address. */
  restart(agent: Agent, newAddress: boolean): void {
    void agent.transport.close();
    const vtep = newAddress ? this.nextVtep() : agent.vtep;
    if (newAddress) this.manager.readvertise(agent.nodeId, vtep);
    const restarted = this.start(agent.nodeId, agent.epoch + 1, vtep);
    restarted.removed = agent.removed;
    this.agents.set(agent.nodeId, restarted);
    this.deliverView(restarted);
  }

  remove(agent: Agent): void {
    this.manager.removeNode(agent.nodeId);
    agent.removed = true;
  }

  answerAsks(agent: Agent): void {
    for (const ask of agent.asks.splice(0)) agent.agent.managerAnswer(this.manager.answer(ask.networkId, ask.ownerNodeId));
  }

  advance(ms: number): void {
    this.now += ms;
    for (const agent of this.all()) agent.agent.tick();
  }

  /** A member sends a snapshot of another member's entries, as if it were the owner. */
  forge(from: Agent, claimedOwner: Agent, to: Agent, networkId: string): void {
    const bytes = GossipMessage.encode({
      body: {
        $case: 'snapshot',
        value: {
          networkId,
          ownerNodeId: claimedOwner.nodeId,
          version: { epoch: 1_000_000, counter: 1 },
          revision: 1_000_000,
          entries: [GossipEntry.fromPartial({ endpointId: 'forged', ip: '10.255.255.2', mac: '02:42:ff:ff:ff:ff', vtep: from.vtep })],
        },
      },
    }).finish();
    from.transport.send(to.nodeId, bytes);
  }

  /**
   * Everything settles: `heal` ends every partition, then views are delivered, messages
   * flushed, fallback requests answered and timers run until nothing more happens.
   */
  quiesce(heal: boolean): void {
    if (heal) this.network.healAll();
    for (let round = 0; round < 6; round++) {
      for (const agent of this.live()) this.deliverView(agent);
      // The leader's corrections of members whose programmed digests lag the truth.
      for (const agent of this.live()) this.deliverDigests(agent);
      this.network.settle();
      this.network.flush();
      for (const agent of this.live()) this.answerAsks(agent);
      this.advance(TIMERS.antiEntropyIntervalMs);
      this.network.settle();
      this.network.flush();
    }
  }

  /** Per live node and network it hosts: what it programs, what the truth says, and where it came from. */
  compare(): { nodeId: string; networkId: string; table: string[]; truth: string[]; sources: Set<string> }[] {
    return this.live().flatMap((agent) => {
      const networks = new Set([...agent.agent.networkIds(), ...this.manager.networksOf(agent.nodeId)]);
      return [...networks].sort().map((networkId) => {
        const entries = agent.agent.table(networkId);
        return {
          nodeId: agent.nodeId,
          networkId,
          table: entries.map((entry) => describe(entry.ownerNodeId, entry)).sort(),
          truth: this.manager.networksOf(agent.nodeId).includes(networkId) ? this.manager.truthFor(networkId, agent.nodeId) : [],
          sources: new Set(entries.map((entry) => entry.source)),
        };
      });
    });
  }
}
