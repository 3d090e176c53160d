import { createRaftNode } from '../core';
import type { NodeId } from '../core';
import { SimCluster } from './cluster';
import { noMessageFaults } from './fake-network';
import { InvariantViolation } from './invariants';
import { checkLinearizability } from './linearizability';
import type { HistoryOp } from './linearizability';
import { Prng } from './prng';
import type { DriverFlaw, DriverOrder, RaftNodeFactory, SimNode } from './sim-node';
import type { PlantedBug } from './workload';

export interface SeedOptions {
  seed: number;
  nodes: number;
  /** Steps of random schedule before the faults heal. */
  steps: number;
  plantedBug?: PlantedBug;
  driverFlaw?: DriverFlaw;
  /** Default 'production': the order manager/cluster/raft-cluster.ts handles a Ready in. */
  driverOrder?: DriverOrder;
  createRaftNode?: RaftNodeFactory;
}

export type SeedResult =
  | { passed: true; opsChecked: number }
  | {
      passed: false;
      /** The broken property: an invariant's name, 'liveness', 'linearizability' or 'exception'. */
      check: string;
      detail: string;
      /** The step the schedule had reached (steps + rounds after healing). */
      step: number;
      /** The operations of the key that failed to linearize. */
      ops?: HistoryOp[];
    };

const electionTick = 6;
/** After healing, a leader must emerge within this many election timeouts. */
const livenessElectionTimeouts = 20;
const livenessRounds = livenessElectionTimeouts * electionTick;

/** Runs one seed: a random faulty schedule, healing, liveness, then the linearizability check. */
export function runSeed(options: SeedOptions): SeedResult {
  const prng = new Prng(options.seed);
  const cluster = new SimCluster(prng.fork(), {
    nodeCount: options.nodes,
    core: {
      electionTick,
      heartbeatTick: 2,
      maxSizePerMessage: 256,
      maxInflightMessages: 4,
      preVote: prng.chance(0.5),
      checkQuorum: prng.chance(0.5),
    },
    createRaftNode: options.createRaftNode ?? createRaftNode,
    faults: { dropRate: 0.02 + prng.next() * 0.15, duplicateRate: prng.next() * 0.1, maxDelay: 1 + prng.int(4) },
    workload: { clients: 3, keys: ['a', 'b', 'c'], opTimeout: 40, plantedBug: options.plantedBug ?? 'none' },
    driverFlaw: options.driverFlaw ?? 'none',
    driverOrder: options.driverOrder ?? 'production',
  });
  try {
    const schedule = randomSchedule(prng.fork(), cluster);
    for (; cluster.now < options.steps; cluster.now++) {
      schedule();
      cluster.settle(0.5);
    }
    const liveness = healAndCheckLiveness(cluster);
    if (liveness) return { passed: false, check: 'liveness', detail: liveness, step: cluster.now };
  } catch (error) {
    if (error instanceof InvariantViolation) return { passed: false, check: error.invariant, detail: error.detail, step: cluster.now };
    return { passed: false, check: 'exception', detail: error instanceof Error ? (error.stack ?? error.message) : String(error), step: cluster.now };
  }
  cluster.workload.giveUpAll();
  const result = checkLinearizability(cluster.workload.history);
  if (result.verdict === 'linearizable') return { passed: true, opsChecked: result.checkedOps };
  return { passed: false, check: 'linearizability', detail: `${result.verdict} on key ${result.key}`, step: cluster.now, ops: result.ops };
}

/** One random step of the schedule, weighted so that delivery and ticks dominate and faults are occasional. */
function randomSchedule(prng: Prng, cluster: SimCluster): () => void {
  const actions: [number, () => void][] = [
    [20, () => cluster.tick(0.8)],
    [45, () => cluster.deliver(1 + prng.int(cluster.nodes.size + 1))],
    [12, () => clientsAct(prng, cluster)],
    [1, () => crashOne(prng, cluster)],
    [4, () => restartOne(prng, cluster)],
    [1.5, () => partition(prng, cluster)],
    [3, () => cluster.network.healAll()],
    [2, () => compactOne(prng, cluster)],
    [0.5, () => transferLeadership(prng, cluster)],
  ];
  const totalWeight = actions.reduce((sum, [weight]) => sum + weight, 0);
  return () => {
    let roll = prng.next() * totalWeight;
    for (const [weight, act] of actions) {
      roll -= weight;
      if (roll < 0) return act();
    }
  };
}

function clientsAct(prng: Prng, cluster: SimCluster): void {
  for (const client of cluster.workload.idleClients()) {
    if (prng.chance(0.5)) cluster.workload.invokeRandom(client, cluster.now);
  }
}

function crashOne(prng: Prng, cluster: SimCluster): void {
  const live = cluster.liveNodes();
  if (live.length > 0) cluster.crash(prng.pick(live));
}

function restartOne(prng: Prng, cluster: SimCluster): void {
  const dead = cluster.deadNodes();
  if (dead.length > 0) cluster.restart(prng.pick(dead));
}

function compactOne(prng: Prng, cluster: SimCluster): void {
  const live = cluster.liveNodes();
  if (live.length > 0) prng.pick(live).compact(2);
}

/** Full isolation of one node, a split into two sides, or one cut link (a partial partition). */
function partition(prng: Prng, cluster: SimCluster): void {
  const ids = cluster.ids();
  if (prng.chance(0.5)) cluster.network.healAll();
  const kind = prng.int(3);
  if (kind === 0) {
    const isolated = prng.pick(ids);
    cluster.network.split([isolated], ids.filter((id) => id !== isolated));
  } else if (kind === 1) {
    const shuffled = prng.shuffle(ids);
    const cutAt = 1 + prng.int(Math.floor(ids.length / 2));
    cluster.network.split(shuffled.slice(0, cutAt), shuffled.slice(cutAt));
  } else {
    const a = prng.pick(ids);
    cluster.network.cut(a, prng.pick(ids.filter((id) => id !== a)));
  }
}

function transferLeadership(prng: Prng, cluster: SimCluster): void {
  const leader = cluster.liveNodes().find((node) => node.status().softState.role === 'leader');
  if (!leader) return;
  leader.core.transferLeadership(prng.pick(cluster.ids().filter((id) => id !== leader.id)));
}

/**
 * Heals every fault, restarts every node, and demands progress: a leader all
 * nodes agree on within a bounded number of election timeouts, then a write
 * and a ReadIndex read, each within the same bound (a client retries one that
 * fails because leadership moved, as a real client would), and finally every
 * replica caught up. Returns what failed, if anything.
 */
function healAndCheckLiveness(cluster: SimCluster): string | undefined {
  cluster.network.healAll();
  cluster.network.faults = noMessageFaults;
  for (const node of cluster.deadNodes()) cluster.restart(node);
  cluster.workload.giveUpAll();
  const { workload } = cluster;
  const round = (): void => {
    cluster.now++;
    cluster.tick(1);
    cluster.drain(50);
  };
  const awaitLeader = (deadline: number): SimNode | undefined => {
    while (!cluster.agreedLeader() && cluster.now < deadline) round();
    return cluster.agreedLeader();
  };
  if (!awaitLeader(cluster.now + livenessRounds)) {
    return `no leader all nodes agree on within ${livenessElectionTimeouts} election timeouts after healing`;
  }
  const operations = [
    ['write', (leader: NodeId) => workload.put('c1', 'a', leader, cluster.now)],
    ['ReadIndex read', (leader: NodeId) => workload.get('c1', 'a', leader, cluster.now)],
  ] as const;
  for (const [kind, invoke] of operations) {
    const deadline = cluster.now + livenessRounds;
    for (;;) {
      const leader = awaitLeader(deadline);
      if (!leader) return `no ${kind} succeeded within ${livenessElectionTimeouts} election timeouts after healing: no leader`;
      const historyIndex = invoke(leader.id);
      do round();
      while (!workload.isIdle('c1') && cluster.now < deadline);
      if (workload.history[historyIndex].outcome === 'ok') break;
      if (cluster.now >= deadline) return `no ${kind} succeeded within ${livenessElectionTimeouts} election timeouts after healing`;
    }
  }
  return awaitConvergence(cluster, round, cluster.now + livenessRounds);
}

/** Every replica catches up with the leader's commit (liveness) and then holds the same state (safety). */
function awaitConvergence(cluster: SimCluster, round: () => void, deadline: number): string | undefined {
  const caughtUp = (): boolean => {
    const leader = cluster.agreedLeader();
    const commit = leader?.status().hardState.commit;
    return cluster.liveNodes().every((node) => node.appliedIndex === commit);
  };
  while (!caughtUp() && cluster.now < deadline) round();
  if (!caughtUp()) return `replicas did not all apply the leader's commit within ${livenessElectionTimeouts} election timeouts`;
  const states = new Set(cluster.liveNodes().map((node) => node.stateFingerprint()));
  if (states.size > 1) throw new InvariantViolation('state machine safety', 'replicas at the same applied index hold different states');
  return undefined;
}
