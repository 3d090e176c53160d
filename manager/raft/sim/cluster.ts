import type { Message, NodeId } from '../core';
import { FakeNetwork } from './fake-network';
import type { DeliveryOutcome, MessageFaults } from './fake-network';
import { InvariantChecker } from './invariants';
import type { Prng } from './prng';
import { SimNode } from './sim-node';
import type { CoreSettings, DriverFlaw, DriverOrder, NodeObserver, RaftNodeFactory } from './sim-node';
import { Workload } from './workload';
import type { WorkloadSettings } from './workload';

export interface ClusterSettings {
  nodeCount: number;
  core: CoreSettings;
  createRaftNode: RaftNodeFactory;
  faults: MessageFaults;
  workload: WorkloadSettings;
  driverFlaw: DriverFlaw;
  driverOrder: DriverOrder;
}

/**
 * The simulated world: nodes on a fake network, clients, and the invariant
 * checker watching every write, send, apply and step. Time is the step count;
 * the scenario decides what happens at each step and calls settle() after it.
 */
export class SimCluster {
  readonly nodes = new Map<NodeId, SimNode>();
  readonly network: FakeNetwork;
  readonly invariants: InvariantChecker;
  readonly workload: Workload;
  now = 0;

  constructor(
    private readonly prng: Prng,
    settings: ClusterSettings,
  ) {
    const ids = Array.from({ length: settings.nodeCount }, (_, n) => `n${n + 1}`);
    this.network = new FakeNetwork(prng.fork(), settings.faults);
    this.invariants = new InvariantChecker((id) => this.node(id).disk.durable(), {
      leaderMaySendUnsyncedEntries: settings.driverOrder === 'production',
    });
    this.workload = new Workload(prng.fork(), settings.workload, this.nodes);
    const observer = this.observer();
    for (const id of ids) {
      const coreRandom = prng.fork();
      const node = new SimNode(
        id,
        { voters: ids, learners: [] },
        settings.createRaftNode,
        settings.core,
        () => coreRandom.next(),
        observer,
        settings.driverFlaw,
        settings.driverOrder,
      );
      this.nodes.set(id, node);
      node.start();
    }
  }

  node(id: NodeId): SimNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  ids(): NodeId[] {
    return [...this.nodes.keys()];
  }

  liveNodes(): SimNode[] {
    return [...this.nodes.values()].filter((node) => node.alive);
  }

  deadNodes(): SimNode[] {
    return [...this.nodes.values()].filter((node) => !node.alive);
  }

  /** Ticks each live node with the given probability (clocks drift apart). */
  tick(probability: number): void {
    for (const node of this.liveNodes()) if (this.prng.chance(probability)) node.core.tick();
  }

  /** Delivers (or loses) up to `count` random deliverable messages; returns how many were taken. */
  deliver(count: number): number {
    let taken = 0;
    for (; taken < count; taken++) {
      const next = this.network.takeOne(this.now);
      if (!next) break;
      const { message, senderIncarnation } = next.flight;
      const receiver = this.nodes.get(message.to);
      const outcome = next.outcome === 'delivered' && !receiver?.alive ? 'unreachable' : next.outcome;
      if (outcome === 'delivered' && receiver) {
        receiver.core.step(message);
        receiver.pump();
      }
      this.reportToSender(message, senderIncarnation, outcome);
    }
    return taken;
  }

  crash(node: SimNode): void {
    node.crash();
    this.invariants.observeCrash(node.id);
  }

  restart(node: SimNode): void {
    node.start();
  }

  /** After every step: some writes sync, nodes take their next Ready, invariants and clients catch up. */
  settle(syncProbability: number): void {
    for (const node of this.liveNodes()) {
      node.pump();
      if (node.hasUnsynced() && this.prng.chance(syncProbability)) node.sync();
    }
    this.observe();
  }

  /** Drives every live node until no write waits and no message is deliverable now, up to `maxRounds`. */
  drain(maxRounds: number): void {
    for (let round = 0; round < maxRounds; round++) {
      for (const node of this.liveNodes()) {
        node.pump();
        node.sync();
      }
      const delivered = this.deliver(Number.MAX_SAFE_INTEGER);
      this.observe();
      if (delivered === 0 && this.liveNodes().every((node) => !node.hasUnsynced())) return;
    }
  }

  /** The leader every live node agrees on, if there is one. */
  agreedLeader(): SimNode | undefined {
    const live = this.liveNodes();
    const leader = live.find((node) => node.status().softState.role === 'leader');
    if (!leader) return undefined;
    return live.every((node) => node.status().softState.leader === leader.id) ? leader : undefined;
  }

  private observe(): void {
    for (const node of this.liveNodes()) this.invariants.observeStatus(node.status(), node.incarnation);
    this.workload.reconcile(this.now);
  }

  /** What a transport tells the core about a send: snapshot outcomes, and peers it could not reach. */
  private reportToSender(message: Message, senderIncarnation: number, outcome: DeliveryOutcome): void {
    const sender = this.nodes.get(message.from);
    if (!sender?.alive || sender.incarnation !== senderIncarnation) return;
    if (message.type === 'snap') sender.core.reportSnapshot(message.to, outcome === 'delivered');
    if (outcome === 'unreachable') sender.core.reportUnreachable(message.to);
    sender.pump();
  }

  private observer(): NodeObserver {
    return {
      durable: (node, written) => this.invariants.observeDurable(node.id, written),
      send: (node, message) => {
        this.invariants.observeSend(message);
        this.network.send(message, this.now, node.incarnation);
      },
      applied: (node, entry, command) => {
        this.invariants.observeApply(node.id, entry);
        if (command) this.workload.putApplied(node, command);
      },
      readReady: (node, requestContext) => this.workload.readReady(node, requestContext),
    };
  }
}
