import { MemoryStorage } from '../core';
import type { ConfState, Entry, Message, NodeId, RaftConfig, RaftNode, ReadState, Ready, Status } from '../core';
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

/** How a deliberately broken driver misbehaves, to prove the invariants can fail. */
export type DriverFlaw = 'none' | 'send-before-persist';

export type RaftNodeFactory = (config: RaftConfig) => RaftNode;

export type CoreSettings = Omit<RaftConfig, 'id' | 'storage' | 'applied' | 'random'>;

/**
 * One simulated manager: the Raft core, the storage view it reads, a fake disk
 * and a key-value state machine, driven by the Ready contract. A Ready is
 * written when taken and finishes only when the world syncs the disk, so a
 * crash in between loses it — and its messages, which wait for the sync.
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
  private waitingReads: ReadState[] = [];

  constructor(
    readonly id: NodeId,
    initialConf: ConfState,
    private readonly createRaftNode: RaftNodeFactory,
    private readonly settings: CoreSettings,
    private readonly random: () => number,
    private readonly observer: NodeObserver,
    private readonly flaw: DriverFlaw,
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
    this.waitingReads = [];
  }

  /** Takes the next Ready, if the last one is done, and writes it (unsynced). */
  pump(): void {
    if (!this.raft || this.written || !this.raft.hasReady()) return;
    const ready = this.raft.ready();
    this.written = ready;
    this.disk.write({ hardState: ready.hardState, entries: ready.entries, snapshot: ready.snapshot });
    if (this.flaw === 'send-before-persist') this.sendAll(ready.messages);
  }

  hasUnsynced(): boolean {
    return this.written !== undefined;
  }

  /** Completes the written Ready in the contract's order: durable, then send, apply, read, advance. */
  sync(): void {
    const ready = this.written;
    const storage = this.storage;
    if (!ready || !this.raft || !storage) return;
    const synced = this.disk.sync();
    if (ready.snapshot) storage.applySnapshot(ready.snapshot);
    if (ready.hardState) storage.setHardState(ready.hardState);
    storage.append(ready.entries);
    if (synced) this.observer.durable(this, synced);
    if (this.flaw !== 'send-before-persist') this.sendAll(ready.messages);
    if (ready.snapshot) this.restoreFromSnapshot(ready.snapshot.data, ready.snapshot.metadata.index);
    for (const entry of ready.committedEntries) this.apply(entry);
    this.waitingReads.push(...ready.readStates);
    this.serveReads();
    this.written = undefined;
    this.raft.advance();
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
    this.disk.saveSnapshot(snapshot);
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
