/*
 * Tests only: a cluster of RawNodes over a synchronous in-memory network.
 * Each Ready is persisted into the node's MemoryStorage before its messages
 * are queued, as a real driver must; delivery is FIFO and instantaneous, and
 * links can be cut or messages dropped by a filter.
 */
import { bootstrapLog } from './bootstrap';
import { decodeConfChange } from './conf-change';
import { MemoryStorage } from './memory-storage';
import { RawNode } from './rawnode';
import type { ConfState, Entry, HardState, Message, NodeId, RaftConfig, ReadState } from './types';

export interface TestOptions {
  preVote: boolean;
  checkQuorum: boolean;
  electionTick: number;
  heartbeatTick: number;
  maxInflightMessages: number;
  maxSizePerMessage: number;
}

const DEFAULT_OPTIONS: TestOptions = {
  preVote: true,
  checkQuorum: true,
  electionTick: 10,
  heartbeatTick: 1,
  maxInflightMessages: 256,
  maxSizePerMessage: Infinity,
};

/** A node with its disk and the state machine it applies to: the commands applied, in order. */
export interface TestPeer {
  id: NodeId;
  node: RawNode;
  storage: MemoryStorage;
  applied: Array<{ index: number; command: string }>;
  readStates: ReadState[];
}

export class TestNetwork {
  readonly peers = new Map<NodeId, TestPeer>();
  /** Every message sent, in order, whether delivered or not. */
  readonly sent: Message[] = [];
  /** Return false to drop a message. */
  filter: (message: Message) => boolean = () => true;
  private readonly options: TestOptions;
  private inFlight: Message[] = [];
  private readonly cutLinks = new Set<string>();

  constructor(options: Partial<TestOptions> = {}) {
    this.options = { ...DEFAULT_OPTIONS, ...options };
  }

  /** A fresh cluster of `voters` (and `learners`), nobody elected yet. */
  static cluster(voters: NodeId[], options: Partial<TestOptions> = {}, learners: NodeId[] = []): TestNetwork {
    const network = new TestNetwork(options);
    for (const id of [...voters, ...learners]) network.addPeer(id, new MemoryStorage({ voters, learners }));
    return network;
  }

  /** A cluster whose founders start from bootstrapLog, so that members can later join with an empty storage. */
  static bootstrapped(founders: NodeId[], options: Partial<TestOptions> = {}): TestNetwork {
    const network = new TestNetwork(options);
    const { entries, hardState } = bootstrapLog(founders);
    for (const id of founders) {
      const storage = new MemoryStorage();
      storage.append(entries);
      storage.setHardState(hardState);
      network.addPeer(id, storage);
    }
    network.stabilize();
    return network;
  }

  /** A 3-voter cluster (a, b, c) with `a` elected and its no-op committed everywhere. */
  static withLeader(voters: NodeId[] = ['a', 'b', 'c'], options: Partial<TestOptions> = {}): TestNetwork {
    const network = TestNetwork.cluster(voters, options);
    network.campaign(voters[0] as NodeId);
    return network;
  }

  addPeer(id: NodeId, storage: MemoryStorage, applied = 0): TestPeer {
    const snapshotEntries = decodeStateMachine(storage.snapshot().data);
    const peer: TestPeer = {
      id,
      node: new RawNode(this.config(id, storage, applied)),
      storage,
      applied: snapshotEntries,
      readStates: [],
    };
    this.peers.set(id, peer);
    return peer;
  }

  /** Crash and restart: a new node from what `id` persisted; its state machine is rebuilt from the snapshot and log. */
  restart(id: NodeId): TestPeer {
    const { storage } = this.peer(id);
    this.inFlight = this.inFlight.filter((message) => message.to !== id);
    return this.addPeer(id, storage);
  }

  remove(id: NodeId): void {
    this.peers.delete(id);
  }

  peer(id: NodeId): TestPeer {
    const peer = this.peers.get(id);
    if (peer === undefined) throw new Error(`no peer ${id}`);
    return peer;
  }

  node(id: NodeId): RawNode {
    return this.peer(id).node;
  }

  role(id: NodeId): string {
    return this.node(id).status().softState.role;
  }

  term(id: NodeId): number {
    return this.node(id).status().hardState.term;
  }

  commit(id: NodeId): number {
    return this.node(id).status().hardState.commit;
  }

  leaders(): NodeId[] {
    return [...this.peers.values()].filter((peer) => this.role(peer.id) === 'leader').map((peer) => peer.id);
  }

  /** The commands `id` applied, in order. */
  commands(id: NodeId): string[] {
    return this.peer(id).applied.map((entry) => entry.command);
  }

  /** The terms of `id`'s persisted log, from index 1 (compacted entries as 0). */
  logTerms(id: NodeId): number[] {
    const { storage } = this.peer(id);
    const terms: number[] = [];
    for (let index = 1; index <= storage.lastIndex(); index++) {
      terms.push(index < storage.firstIndex() ? 0 : storage.term(index));
    }
    return terms;
  }

  campaign(id: NodeId): void {
    this.node(id).campaign();
    this.stabilize();
  }

  propose(id: NodeId, command: string): void {
    this.node(id).propose(new TextEncoder().encode(command));
    this.stabilize();
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) {
      this.node(id).tick();
      this.stabilize();
    }
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const peer of this.peers.values()) peer.node.tick();
      this.stabilize();
    }
  }

  cut(a: NodeId, b: NodeId): void {
    this.cutLinks.add(`${a}->${b}`);
    this.cutLinks.add(`${b}->${a}`);
  }

  isolate(id: NodeId): void {
    for (const other of this.peers.keys()) if (other !== id) this.cut(id, other);
  }

  heal(): void {
    this.cutLinks.clear();
    this.filter = () => true;
  }

  /** Handles every Ready and delivers every message until the cluster is quiet. */
  stabilize(): void {
    for (let round = 0; ; round++) {
      if (round > 10_000) throw new Error('test network did not settle');
      let busy = false;
      for (const peer of this.peers.values()) {
        while (peer.node.hasReady()) {
          this.handleReady(peer);
          busy = true;
        }
      }
      const deliverable = this.inFlight;
      this.inFlight = [];
      for (const message of deliverable) {
        this.peers.get(message.to)?.node.step(message);
        busy = true;
      }
      if (!busy) return;
    }
  }

  /** Handles only `id`'s Readys, keeping its messages queued (to observe or reorder them). */
  handleReadyOf(id: NodeId): void {
    const peer = this.peer(id);
    while (peer.node.hasReady()) this.handleReady(peer);
  }

  private handleReady(peer: TestPeer): void {
    const { node, storage } = peer;
    const ready = node.ready();
    if (ready.snapshot !== undefined) {
      storage.applySnapshot(ready.snapshot);
      peer.applied = decodeStateMachine(ready.snapshot.data);
    }
    storage.append(ready.entries);
    if (ready.hardState !== undefined) storage.setHardState(ready.hardState);
    for (const message of ready.messages) {
      this.sent.push(message);
      if (!this.cutLinks.has(`${message.from}->${message.to}`) && this.filter(message)) this.inFlight.push(message);
    }
    for (const entry of ready.committedEntries) this.apply(peer, entry);
    peer.readStates.push(...ready.readStates);
    node.advance();
  }

  private apply(peer: TestPeer, entry: Entry): void {
    if (entry.type === 'confChange') {
      peer.node.applyConfChange(decodeConfChange(entry.data));
    } else if (entry.data.length > 0) {
      peer.applied.push({ index: entry.index, command: new TextDecoder().decode(entry.data) });
    }
  }

  /** Snapshots `id`'s state machine at its applied index and compacts its log up to there. */
  compact(id: NodeId): void {
    const peer = this.peer(id);
    const { applied, confState } = peer.node.status();
    peer.storage.createSnapshot(applied, confState, encodeStateMachine(peer.applied));
    peer.storage.compact(applied);
  }

  private config(id: NodeId, storage: MemoryStorage, applied: number): RaftConfig {
    return { id, storage, applied, ...this.options, random: seededRandom(id) };
  }
}

/** A storage holding `terms` as its log (entry i+1 has term terms[i]) and `hardState`. */
export function storageWithLog(conf: ConfState, terms: number[], hardState: HardState): MemoryStorage {
  const storage = new MemoryStorage(conf);
  const encode = (text: string): Uint8Array => new TextEncoder().encode(text);
  storage.append(terms.map((term, i) => ({ term, index: i + 1, type: 'normal', data: encode(`t${term}i${i + 1}`) })));
  storage.setHardState(hardState);
  return storage;
}

function encodeStateMachine(applied: TestPeer['applied']): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(applied));
}

function decodeStateMachine(data: Uint8Array): TestPeer['applied'] {
  return data.length === 0 ? [] : (JSON.parse(new TextDecoder().decode(data)) as TestPeer['applied']);
}

/** A deterministic stream per node id, so each node draws its own election timeouts. */
function seededRandom(id: NodeId): () => number {
  let state = [...id].reduce((hash, char) => Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0, 2166136261);
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
}
