import { MemoryStorage, None } from '../core';
import type { ConfState, Entry, HardState, Message, NodeId, RaftConfig, RaftNode, ReadState, Ready, SoftState, Status } from '../core';
import { FakeDisk } from './fake-disk';
import type { DiskWrite } from './fake-disk';
import { InvariantViolation } from './invariants';
import { decodePut, KvStateMachine } from './kv-state-machine';
import type { PutCommand } from './kv-state-machine';

/** What a node's driver reports to the world around it. */
export interface NodeObserver {
  /** The node's pending write was synced. */
  durable(node: SimNode, written: DiskWrite): void;
  /** The driver hands a message to the network. */
  send(node: SimNode, message: Message): void;
  /** A committed entry was applied (command undefined for a no-op). */
  applied(node: SimNode, entry: Entry, command: PutCommand | undefined): void;
  /** A ReadIndex request may now be served from this node's state machine. */
  readReady(node: SimNode, requestContext: string): void;
}

/**
 * How a deliberately broken driver misbehaves, to prove the invariants can fail.
 * Each sends some Readies before their sync beyond what production allows (a
 * leader whose Ready keeps term and vote):
 * `follower-sends-before-persist`: a non-leader's Ready that keeps term and vote;
 * `term-vote-sends-before-persist`: a Ready that changes term or vote;
 * `send-before-persist`: every Ready, i.e. both of the above.
 */
export type DriverFlaw = 'none' | 'send-before-persist' | 'follower-sends-before-persist' | 'term-vote-sends-before-persist';

/**
 * The order in which the driver handles a Ready.
 * `production` does what manager/cluster/raft-cluster.ts does: a leader sends a
 * Ready that changes neither term nor vote before its sync, everything else is
 * sent after it; a Ready with `mustSync` false (only the commit index moved) is
 * written without a sync and completes at once.
 * `strict` is the plain contract the simulator used first: every Ready is
 * synced, and nothing is sent before its sync.
 */
export type DriverOrder = 'production' | 'strict';

export type RaftNodeFactory = (config: RaftConfig) => RaftNode;

export type CoreSettings = Omit<RaftConfig, 'id' | 'storage' | 'applied' | 'random'>;

/**
 * One simulated manager: the Raft core, the storage view it reads, a fake disk
 * and a key-value state machine, driven by the Ready contract in the order
 * `DriverOrder` names. A Ready that needs a sync is written when taken and
 * finishes only when the world syncs the disk, so a crash in between loses it
 * — and the messages that wait for the sync.
 */
export class SimNode {
  readonly disk: FakeDisk;
  /** Bumped on every restart, so that stale reports and client requests are recognised. */
  incarnation = 0;
  private raft: RaftNode | undefined;
  private storage: MemoryStorage | undefined;
  private kv = new KvStateMachine();
  private applied = 0;
  private written: Ready | undefined;
  /** Whether the written Ready's messages already went out, before its sync. */
  private sentBeforeSync = false;
  private waitingReads: ReadState[] = [];
  /** The role as this driver last learned it from a Ready, as production's driver tracks it. */
  private softState: SoftState = { leader: None, role: 'follower' };
  /** The term and vote last made durable: production lets a leader send early only while a Ready keeps them. */
  private durableTermVote: { term: number; vote: NodeId } = { term: 0, vote: None };

  constructor(
    readonly id: NodeId,
    initialConf: ConfState,
    private readonly createRaftNode: RaftNodeFactory,
    private readonly settings: CoreSettings,
    private readonly random: () => number,
    private readonly observer: NodeObserver,
    private readonly flaw: DriverFlaw,
    private readonly order: DriverOrder = 'production',
  ) {
    this.disk = new FakeDisk(initialConf);
  }

  get alive(): boolean {
    return this.raft !== undefined;
  }

  /** The running core; only call on a live node. */
  get core(): RaftNode {
    if (!this.raft) throw new Error(`${this.id} is down`);
    return this.raft;
  }

  status(): Status {
    return this.core.status();
  }

  read(key: string): string | null {
    return this.kv.get(key);
  }

  get appliedIndex(): number {
    return this.applied;
  }

  /** The state machine's contents, comparable across replicas. */
  stateFingerprint(): string {
    return new TextDecoder().decode(this.kv.snapshot());
  }

  /** Boots from what the disk synced: snapshot, hard state and the log after the snapshot. */
  start(): void {
    const image = this.disk.durable();
    const storage = new MemoryStorage(image.snapshot.metadata.confState);
    storage.applySnapshot(image.snapshot);
    storage.setHardState(image.hardState);
    storage.append(image.entries);
    this.storage = storage;
    // A restarted process knows no role yet and only what its disk recovered.
    this.softState = { leader: None, role: 'follower' };
    this.durableTermVote = { term: image.hardState.term, vote: image.hardState.vote };
    this.kv = KvStateMachine.fromSnapshot(image.snapshot.data);
    this.applied = image.snapshot.metadata.index;
    this.incarnation++;
    this.raft = this.createRaftNode({ ...this.settings, id: this.id, storage, applied: this.applied, random: this.random });
  }

  /** Loses everything not synced: memory, the written-but-unsynced Ready, pending reads. */
  crash(): void {
    this.disk.crash();
    this.raft = undefined;
    this.storage = undefined;
    this.written = undefined;
    this.sentBeforeSync = false;
    this.waitingReads = [];
  }

  /**
   * Takes Readies while none waits for a sync. One that needs a sync is written
   * (unsynced) and waits for sync(); in the production order one that does not
   * (`mustSync` false) is written without a sync and completed at once, as
   * production's save() then resolves without an fdatasync.
   */
  pump(): void {
    while (this.raft && !this.written && this.raft.hasReady()) {
      const ready = this.raft.ready();
      if (ready.softState) this.softState = ready.softState;
      if (this.order === 'production' && !ready.mustSync) {
        this.completeWithoutSync(ready);
        continue;
      }
      this.written = ready;
      this.disk.write({ hardState: ready.hardState, entries: ready.entries, snapshot: ready.snapshot });
      this.sentBeforeSync = this.sendsBeforeSync(ready.hardState);
      if (this.sentBeforeSync) this.sendAll(ready.messages);
      return;
    }
  }

  hasUnsynced(): boolean {
    return this.written !== undefined;
  }

  /** Completes the written Ready in the contract's order: durable, then send (unless sent already), apply, read, advance. */
  sync(): void {
    const ready = this.written;
    const storage = this.storage;
    if (!ready || !this.raft || !storage) return;
    const synced = this.disk.sync();
    if (ready.snapshot) storage.applySnapshot(ready.snapshot);
    if (ready.hardState) {
      storage.setHardState(ready.hardState);
      this.durableTermVote = { term: ready.hardState.term, vote: ready.hardState.vote };
    }
    storage.append(ready.entries);
    if (synced) this.observer.durable(this, synced);
    if (!this.sentBeforeSync) this.sendAll(ready.messages);
    this.finish(ready);
    this.pump();
  }

  /**
   * Snapshots the state machine at the applied index and compacts the log
   * behind it, keeping `retainedEntries` so slightly lagging followers still
   * get entries while further ones need the snapshot.
   */
  compact(retainedEntries: number): void {
    const storage = this.storage;
    if (!this.raft || !storage || this.applied <= storage.snapshot().metadata.index) return;
    const snapshot = storage.createSnapshot(this.applied, this.raft.status().confState, this.kv.snapshot());
    storage.compact(Math.max(this.applied - retainedEntries, storage.firstIndex() - 1));
    const flushed = this.disk.saveSnapshot(snapshot);
    if (flushed) this.observer.durable(this, flushed);
  }

  /**
   * Production's rule (raft-cluster.ts, process()): a leader's appends and
   * heartbeats do not depend on its own log being durable, because the core
   * counts the leader toward a quorum only once advance() reports its entries
   * persisted; a changed term or vote must be durable before any message.
   * A planted flaw widens the rule.
   */
  private sendsBeforeSync(hardState: HardState | undefined): boolean {
    const keepsTermAndVote =
      hardState === undefined || (hardState.term === this.durableTermVote.term && hardState.vote === this.durableTermVote.vote);
    const leading = this.softState.role === 'leader';
    if (this.order === 'production' && leading && keepsTermAndVote) return true;
    switch (this.flaw) {
      case 'none':
        return false;
      case 'send-before-persist':
        return true;
      case 'follower-sends-before-persist':
        return !leading && keepsTermAndVote;
      case 'term-vote-sends-before-persist':
        return !keepsTermAndVote;
    }
  }

  /**
   * A Ready with nothing that needs a sync: at most a commit-only hard state,
   * written without a sync (a crash may lose it), then its messages, which
   * depend on nothing it holds, and the rest.
   */
  private completeWithoutSync(ready: Ready): void {
    if (ready.hardState) {
      this.disk.writeWithoutSync({ hardState: ready.hardState, entries: [], snapshot: undefined });
      this.storage?.setHardState(ready.hardState);
    }
    this.sendAll(ready.messages);
    this.finish(ready);
  }

  /** After persistence and sending: apply, serve reads, advance. */
  private finish(ready: Ready): void {
    if (ready.snapshot) this.restoreFromSnapshot(ready.snapshot.data, ready.snapshot.metadata.index);
    for (const entry of ready.committedEntries) this.apply(entry);
    this.waitingReads.push(...ready.readStates);
    this.serveReads();
    this.written = undefined;
    this.sentBeforeSync = false;
    this.raft?.advance();
  }

  private sendAll(messages: readonly Message[]): void {
    for (const message of messages) this.observer.send(this, message);
  }

  private restoreFromSnapshot(data: Uint8Array, index: number): void {
    this.kv = KvStateMachine.fromSnapshot(data);
    this.applied = index;
  }

  private apply(entry: Entry): void {
    if (entry.index !== this.applied + 1) {
      throw new InvariantViolation('entries apply in order', `${this.id} applied ${this.applied} and was given ${entry.index}`);
    }
    if (entry.type === 'confChange') throw new Error('the simulator never proposes membership changes');
    const command = decodePut(entry.data);
    if (command) this.kv.apply(command);
    this.applied = entry.index;
    this.observer.applied(this, entry, command);
  }

  private serveReads(): void {
    const ready = this.waitingReads.filter((read) => read.index <= this.applied);
    if (ready.length === 0) return;
    this.waitingReads = this.waitingReads.filter((read) => read.index > this.applied);
    for (const read of ready) this.observer.readReady(this, read.requestContext);
  }
}
