import { GossipMessage, type GossipChanges, type GossipHeld, type GossipSnapshot } from '../../proto/gen/trellis/v1/gossip';
import type { EndpointRecord, GossipMetrics, ManagerDigest, ManagerEntries, ManagerNetwork, TableEntry } from './model';
import { OwnEntries } from './own-entries';
import { MemberJudgment } from './precedence';
import type { GossipMember, GossipTransport } from './transport';

export interface GossipAgentOptions {
  nodeId: string;
  /** This node's incarnation: one more at every start, kept in the state directory (see OwnEntries). */
  epoch: number;
  transport: GossipTransport;
  now: () => number;
  /** How long an owner's gossip may disagree with the managers' digest before they are asked. */
  fallbackAfterMs: number;
  /**
   * Every `antiEntropyIntervalMs`, the next `antiEntropyPeers` connected members in turn are
   * sent a digest, to repair what a lost message left. Links that come up get one at once,
   * and members whose gossip keeps disagreeing with the managers' digest one after half of
   * `fallbackAfterMs` (MemberJudgment), so this is only a backstop:
   * a few peers a round keep its cost flat however many members a network has.
   */
  antiEntropyIntervalMs: number;
  antiEntropyPeers: number;
  tombstoneTtlMs: number;
  /** Ask the managers for a member's entries on a network; their answer comes back through managerAnswer. */
  askManager: (networkId: string, ownerNodeId: string) => void;
  /** The entries to program for a network changed (table(networkId)). */
  onTableChange: (networkId: string) => void;
  metrics?: GossipMetrics;
  onError?: (error: unknown) => void;
}

/** One of this node's endpoints, as it announces it. */
export interface OwnEndpoint extends EndpointRecord {
  networkId: string;
}

type Kind = 'digest' | 'snapshot' | 'changes';

/** What is programmed of one member on one network, and the decision it came from. */
interface Programmed {
  source: TableEntry['source'];
  digest: string;
  /** The ready ones' ids: readiness is no part of the digest, but a change of it is one to program. */
  ready: string;
  entries: TableEntry[];
}

/**
 * An agent's gossip: announces the endpoints it owns, learns the other members' from them,
 * and decides, per member, what to program (MemberJudgment). Owners send only their own
 * entries, straight to each member (hyperswarm gives every network's members a full mesh, and
 * the managers' fallback covers a pair that cannot connect), so a receiver needs no signature
 * to trust an entry: it accepts an owner's entries only from the owner itself, authenticated
 * by the transport, and only on a network both are members of. No I/O of its own: the wiring
 * calls tick() on a timer and hands it the managers' views and answers.
 */
export class GossipAgent {
  private readonly own: OwnEntries;
  /** Per network this node is a member of: the other members. */
  private readonly networks = new Map<string, Map<string, MemberJudgment>>();
  /** Per network, per other member: what is programmed of it (the last decision that changed it). */
  private readonly tables = new Map<string, Map<string, Programmed>>();
  private entryCount = 0;
  /** Connected members, in the order anti-entropy rounds visit them (a rotating queue). */
  private readonly connected = new Set<string>();
  private lastAntiEntropyMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: GossipAgentOptions) {
    this.own = new OwnEntries(options.nodeId, options.epoch, options.tombstoneTtlMs);
    options.transport.onPeer((nodeId, up) => {
      if (!up) {
        this.connected.delete(nodeId);
        return;
      }
      this.connected.add(nodeId);
      this.sendDigest(nodeId);
    });
    options.transport.onMessage((from, bytes) => this.receive(from, bytes));
  }

  /** The networks this node hosts and their members, from the managers' view. */
  setNetworks(networks: readonly ManagerNetwork[]): void {
    const wanted = new Map(networks.map((network) => [network.networkId, network]));
    for (const networkId of [...this.networks.keys()]) {
      if (wanted.has(networkId)) continue;
      this.networks.delete(networkId);
      this.options.transport.leave(networkId).catch((error: unknown) => this.options.onError?.(error));
    }
    const greet = new Set<string>();
    for (const network of wanted.values()) {
      let judgments = this.networks.get(network.networkId);
      if (!judgments) {
        judgments = new Map();
        this.networks.set(network.networkId, judgments);
        this.options.transport.join(network.networkId).catch((error: unknown) => this.options.onError?.(error));
      }
      const others = network.members.filter((member) => member.nodeId !== this.options.nodeId);
      const present = new Set(others.map((member) => member.nodeId));
      // A member the managers removed is forgotten at once, with everything it announced.
      for (const nodeId of [...judgments.keys()]) if (!present.has(nodeId)) judgments.delete(nodeId);
      for (const member of others) {
        const judgment = judgments.get(member.nodeId);
        if (judgment) {
          judgment.updateMember(member);
        } else {
          judgments.set(member.nodeId, new MemberJudgment(member, this.options.fallbackAfterMs));
          greet.add(member.nodeId);
        }
      }
    }
    const members = new Map<string, GossipMember>();
    for (const judgments of this.networks.values()) {
      for (const judgment of judgments.values()) members.set(judgment.nodeId, { nodeId: judgment.nodeId, publicKey: judgment.publicKey });
    }
    this.options.transport.setMembers([...members.values()]);
    for (const nodeId of greet) if (this.connected.has(nodeId)) this.sendDigest(nodeId);
    this.evaluateAll();
  }

  /**
   * The managers' digests of members' sets (MemberDigests): `replace` gives every member's, and
   * a member it leaves out has none held (its gossip is programmed as it comes).
   */
  setDigests(digests: readonly ManagerDigest[], replace: boolean): void {
    const touched = new Set<string>();
    if (replace) {
      for (const [networkId, judgments] of this.networks) {
        for (const judgment of judgments.values()) judgment.forgetDigest();
        touched.add(networkId);
      }
    }
    for (const { networkId, nodeId, digest, revision } of digests) {
      const judgment = this.networks.get(networkId)?.get(nodeId);
      if (!judgment) continue;
      judgment.updateDigest(digest, revision);
      touched.add(networkId);
    }
    for (const networkId of touched) this.evaluate(networkId);
  }

  /**
   * Every endpoint this node hosts, from the managers' view of revision `revision` (with the
   * readiness they told it); the changes go to the members at once.
   */
  setOwnEndpoints(endpoints: readonly OwnEndpoint[], revision: number): void {
    const byNetwork = new Map<string, EndpointRecord[]>();
    for (const { networkId, ...record } of endpoints) byNetwork.set(networkId, [...(byNetwork.get(networkId) ?? []), record]);
    for (const message of this.own.replaceAll(byNetwork, revision, this.options.now())) {
      for (const nodeId of this.networks.get(message.networkId)?.keys() ?? []) {
        if (this.connected.has(nodeId)) this.sendOwn(nodeId, message);
      }
    }
  }

  /** The managers' answer to askManager. */
  managerAnswer(answer: ManagerEntries): void {
    const judgment = this.networks.get(answer.networkId)?.get(answer.ownerNodeId);
    if (!judgment) return;
    judgment.takeAnswer(answer);
    this.evaluate(answer.networkId, judgment);
  }

  /** Timers: tombstones, periodic anti-entropy, fallbacks due. */
  tick(): void {
    const now = this.options.now();
    this.own.purge(now);
    if (now - this.lastAntiEntropyMs >= this.options.antiEntropyIntervalMs) {
      this.lastAntiEntropyMs = now;
      for (const nodeId of [...this.connected].slice(0, this.options.antiEntropyPeers)) {
        this.connected.delete(nodeId);
        this.connected.add(nodeId);
        this.sendDigest(nodeId);
      }
    }
    this.evaluateAll();
  }

  /** The remote entries to program on a network (every member but this node). */
  table(networkId: string): TableEntry[] {
    return [...(this.tables.get(networkId)?.values() ?? [])].flatMap((programmed) => programmed.entries);
  }

  /**
   * Per other member of the network, the digest of its endpoints as programmed here: what the
   * agent reports for readiness (an endpoint is ready once every live member reports, for its
   * owner, the managers' digest of a revision at or after the endpoint's).
   */
  programmedDigests(networkId: string): Map<string, string> {
    return new Map([...(this.tables.get(networkId) ?? [])].map(([nodeId, programmed]) => [nodeId, programmed.digest]));
  }

  networkIds(): string[] {
    return [...this.networks.keys()];
  }

  private receive(from: string, bytes: Uint8Array): void {
    let message: GossipMessage;
    try {
      message = GossipMessage.decode(bytes);
    } catch {
      this.options.metrics?.rejected('malformed');
      return;
    }
    const body = message.body;
    if (!body) {
      this.options.metrics?.rejected('malformed');
      return;
    }
    this.options.metrics?.syncBytes('received', body.$case, bytes.length);
    if (body.$case === 'digest') {
      this.answerDigest(from, body.value.held);
      return;
    }
    const { networkId, ownerNodeId } = body.value;
    const judgment = this.networks.get(networkId)?.get(from);
    if (!judgment) {
      this.options.metrics?.rejected('not-member');
      return;
    }
    if (ownerNodeId !== from) {
      this.options.metrics?.rejected('not-owner');
      return;
    }
    if (body.$case === 'snapshot') {
      if (judgment.replica.applySnapshot(body.value)) this.evaluate(networkId, judgment);
      return;
    }
    const { changed, gap } = judgment.replica.applyChanges(body.value);
    if (gap) this.sendDigest(from);
    if (changed) this.evaluate(networkId, judgment);
  }

  /** A member tells what it holds of this node's entries: send what it lacks, on networks it shares. */
  private answerDigest(from: string, held: readonly GossipHeld[]): void {
    for (const { networkId, version } of held) {
      if (!this.networks.get(networkId)?.has(from)) {
        this.options.metrics?.rejected('not-member');
        continue;
      }
      const message = this.own.catchUp(networkId, version);
      if (message) this.sendOwn(from, message);
    }
  }

  private sendDigest(nodeId: string): void {
    const held: GossipHeld[] = [];
    for (const [networkId, judgments] of this.networks) {
      const judgment = judgments.get(nodeId);
      if (judgment) held.push({ networkId, version: judgment.replica.version });
    }
    if (held.length > 0) this.send(nodeId, 'digest', { body: { $case: 'digest', value: { held } } });
  }

  private sendOwn(nodeId: string, message: GossipSnapshot | GossipChanges): void {
    if ('entries' in message) this.send(nodeId, 'snapshot', { body: { $case: 'snapshot', value: message } });
    else this.send(nodeId, 'changes', { body: { $case: 'changes', value: message } });
  }

  private send(nodeId: string, kind: Kind, message: GossipMessage): void {
    const bytes = GossipMessage.encode(message).finish();
    if (this.options.transport.send(nodeId, bytes)) this.options.metrics?.syncBytes('sent', kind, bytes.length);
  }

  private evaluateAll(): void {
    for (const networkId of this.networks.keys()) this.evaluate(networkId);
    for (const networkId of [...this.tables.keys()]) if (!this.networks.has(networkId)) this.evaluate(networkId);
  }

  /** Decides what to program of `only` (else every member) on the network, and drops what removed members left. */
  private evaluate(networkId: string, only?: MemberJudgment): void {
    const judgments = this.networks.get(networkId) ?? new Map<string, MemberJudgment>();
    const table = this.tables.get(networkId) ?? new Map<string, Programmed>();
    let changed = false;
    for (const [nodeId, programmed] of only ? [] : table) {
      if (judgments.has(nodeId)) continue;
      table.delete(nodeId);
      this.entryCount -= programmed.entries.length;
      changed = true;
    }
    const now = this.options.now();
    for (const judgment of only ? [only] : judgments.values()) {
      const decision = judgment.decide(now, this.connected.has(judgment.nodeId));
      if (decision.mismatchBegan) this.options.metrics?.digestMismatch();
      if (decision.probe && this.connected.has(judgment.nodeId)) this.sendDigest(judgment.nodeId);
      if (decision.ask) {
        this.options.metrics?.fallback();
        this.options.askManager(networkId, judgment.nodeId);
      }
      const before = table.get(judgment.nodeId);
      const ready = decision.records.filter((record) => record.ready).map((record) => record.endpointId).sort().join(' ');
      if (before?.source === decision.source && before.digest === decision.digest && before.ready === ready) continue;
      const entries = decision.records.map((record) => ({ ...record, networkId, ownerNodeId: judgment.nodeId, source: decision.source }));
      table.set(judgment.nodeId, { source: decision.source, digest: decision.digest, ready, entries });
      this.entryCount += entries.length - (before?.entries.length ?? 0);
      changed = true;
    }
    if (this.networks.has(networkId)) this.tables.set(networkId, table);
    else this.tables.delete(networkId);
    if (!changed) return;
    this.options.metrics?.entries(this.entryCount);
    this.options.onTableChange(networkId);
  }
}
