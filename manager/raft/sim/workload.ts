import { None, ProposalDroppedError } from '../core';
import type { NodeId } from '../core';
import { encodePut } from './kv-state-machine';
import type { PutCommand } from './kv-state-machine';
import type { HistoryOp, OpOutcome, RegisterValue } from './linearizability';
import type { Prng } from './prng';
import type { SimNode } from './sim-node';

/** A client bug planted on purpose, to prove the linearizability checker can fail. */
export type PlantedBug = 'none' | 'follower-reads';

export interface WorkloadSettings {
  clients: number;
  keys: readonly string[];
  /** Steps after which a client gives up on an operation (its outcome becomes unknown). */
  opTimeout: number;
  plantedBug: PlantedBug;
}

/** An operation waiting for its node; `term` is the leader's term a put was proposed in. */
interface PendingOp {
  historyIndex: number;
  node: NodeId;
  incarnation: number;
  term: number;
  deadline: number;
}

/**
 * Clients with one operation at a time each, and the history they produce.
 * A put is proposed on the node the client believes leads: refused → failed;
 * applied on that node → ok; that node crashes, restarts or stops leading the
 * term it was proposed in, or time runs out → unknown. A get asks the node for
 * a ReadIndex and reads its state machine once it has applied that index.
 */
export class Workload {
  readonly history: HistoryOp[] = [];
  private readonly pending = new Map<string, PendingOp>();
  private readonly nextSeq = new Map<string, number>();
  private readonly clientIds: string[];
  private knownLeader: NodeId = None;
  /** Logical time: every invocation and completion gets the next tick. */
  private clock = 0;

  constructor(
    private readonly prng: Prng,
    private readonly settings: WorkloadSettings,
    private readonly nodes: ReadonlyMap<NodeId, SimNode>,
  ) {
    this.clientIds = Array.from({ length: settings.clients }, (_, n) => `c${n + 1}`);
  }

  idleClients(): string[] {
    return this.clientIds.filter((client) => !this.pending.has(client));
  }

  isIdle(client: string): boolean {
    return !this.pending.has(client);
  }

  /** A random operation from an idle client on a likely leader, or now and then on any node. */
  invokeRandom(client: string, now: number): void {
    const key = this.prng.pick(this.settings.keys);
    const nodeIds = [...this.nodes.keys()];
    const node = this.knownLeader !== None && this.prng.chance(0.8) ? this.knownLeader : this.prng.pick(nodeIds);
    if (this.prng.chance(0.5)) this.put(client, key, node, now);
    else this.get(client, key, node, now);
  }

  /** Returns the operation's place in the history. */
  put(client: string, key: string, nodeId: NodeId, now: number): number {
    const seq = this.takeSeq(client);
    const command: PutCommand = { op: 'put', key, value: `${client}.${seq}`, clientId: client, seq };
    const historyIndex = this.record(client, 'put', key, command.value);
    const node = this.nodes.get(nodeId);
    if (!node?.alive) return this.complete(historyIndex, 'failed');
    try {
      node.core.propose(encodePut(command));
    } catch (error) {
      if (!(error instanceof ProposalDroppedError)) throw error;
      this.learnLeader(node);
      return this.complete(historyIndex, 'failed');
    }
    const term = node.status().hardState.term;
    this.pending.set(client, { historyIndex, node: nodeId, incarnation: node.incarnation, term, deadline: now + this.settings.opTimeout });
    return historyIndex;
  }

  /** Returns the operation's place in the history. */
  get(client: string, key: string, nodeId: NodeId, now: number): number {
    const historyIndex = this.record(client, 'get', key, null);
    const node = this.nodes.get(nodeId);
    if (!node?.alive) return this.complete(historyIndex, 'failed');
    if (this.settings.plantedBug === 'follower-reads') return this.complete(historyIndex, 'ok', node.read(key));
    node.core.readIndex(readContext(client, historyIndex));
    this.pending.set(client, { historyIndex, node: nodeId, incarnation: node.incarnation, term: 0, deadline: now + this.settings.opTimeout });
    return historyIndex;
  }

  /** A node applied a put: the client that proposed it there learns it succeeded. */
  putApplied(node: SimNode, command: PutCommand): void {
    const waiting = this.pending.get(command.clientId);
    if (!waiting || waiting.node !== node.id || waiting.incarnation !== node.incarnation) return;
    const op = this.history[waiting.historyIndex];
    if (op.kind !== 'put' || op.value !== command.value) return;
    this.pending.delete(command.clientId);
    this.complete(waiting.historyIndex, 'ok');
  }

  /** A node may serve a ReadIndex read: the client reads that node's state machine. */
  readReady(node: SimNode, requestContext: string): void {
    const client = clientOfReadContext(requestContext);
    const waiting = this.pending.get(client);
    if (!waiting || waiting.node !== node.id || waiting.incarnation !== node.incarnation) return;
    if (readContext(client, waiting.historyIndex) !== requestContext) return;
    this.pending.delete(client);
    this.complete(waiting.historyIndex, 'ok', node.read(this.history[waiting.historyIndex].key));
  }

  /** After each step: operations whose node went away, stopped leading, or took too long are given up. */
  reconcile(now: number): void {
    for (const [client, waiting] of this.pending) {
      const node = this.nodes.get(waiting.node);
      const nodeLost = !node?.alive || node.incarnation !== waiting.incarnation;
      const leadershipLost = !nodeLost && this.history[waiting.historyIndex].kind === 'put' && !leadsTerm(node, waiting.term);
      if (nodeLost || leadershipLost || now >= waiting.deadline) this.giveUp(client, waiting);
    }
    for (const node of this.nodes.values()) if (node.alive && node.status().softState.role === 'leader') this.knownLeader = node.id;
  }

  /** At the end of a run: whatever is still pending has an unknown outcome. */
  giveUpAll(): void {
    for (const [client, waiting] of this.pending) this.giveUp(client, waiting);
  }

  private giveUp(client: string, waiting: PendingOp): void {
    this.pending.delete(client);
    // A get that never returned had no effect; a put may yet take effect.
    this.complete(waiting.historyIndex, this.history[waiting.historyIndex].kind === 'put' ? 'unknown' : 'failed');
  }

  private learnLeader(node: SimNode): void {
    const leader = node.status().softState.leader;
    if (leader !== None) this.knownLeader = leader;
  }

  private takeSeq(client: string): number {
    const seq = (this.nextSeq.get(client) ?? 0) + 1;
    this.nextSeq.set(client, seq);
    return seq;
  }

  private record(clientId: string, kind: 'put' | 'get', key: string, value: RegisterValue): number {
    this.history.push({ clientId, kind, key, value, invokedAt: ++this.clock, completedAt: Infinity, outcome: 'unknown' });
    return this.history.length - 1;
  }

  /** `readValue` is what a get returned; other completions keep the op's value. */
  private complete(historyIndex: number, outcome: OpOutcome, readValue?: RegisterValue): number {
    const op = this.history[historyIndex];
    const value = readValue === undefined ? op.value : readValue;
    this.history[historyIndex] = { ...op, value, outcome, completedAt: ++this.clock };
    return historyIndex;
  }
}

function leadsTerm(node: SimNode, term: number): boolean {
  const status = node.status();
  return status.softState.role === 'leader' && status.hardState.term === term;
}

function readContext(client: string, historyIndex: number): string {
  return `${client}/${historyIndex}`;
}

function clientOfReadContext(requestContext: string): string {
  return requestContext.slice(0, requestContext.indexOf('/'));
}
