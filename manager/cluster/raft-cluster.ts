import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import {
  decodeConfChange,
  None,
  ProposalDroppedError,
  type ConfChange,
  type ConfState,
  type DurableStorage,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type RaftNode,
  type ReadState,
  type Snapshot,
  type SoftState,
} from '../raft/core';
import { newId } from '../ids';
import { checkCommand, Store, type ApplyResult, type Command } from '../store';
import { ClusterUnavailableError, type ClusterState } from './cluster-state';
import { decodeSnapshotPayload, encodeSnapshotPayload, withChange, type MemberAddresses } from './members';
import { decodeProposal, encodeProposal } from './proposal';

/** Where Raft messages go; the gRPC transport in production. */
export interface PeerTransport {
  send(messages: Message[]): void;
  setPeer(id: NodeId, address: string): void;
  removePeer(id: NodeId): void;
}

/** How a write proposed on this manager ended: applied here as leader (accepted or refused by the store), lost, or handed to the leader. */
export type ProposalOutcome = 'committed' | 'failed' | 'forwarded';

/**
 * Instrumentation hooks (metrics). Called synchronously from the Raft loop,
 * so they must be cheap and must not throw.
 */
export interface ClusterObserver {
  proposalFinished(outcome: ProposalOutcome): void;
  /** This replica applied `command` successfully; `store` is already past it (its revision is the command's). */
  applied(command: Command, store: Store): void;
}

/** How a follower hands a write to the leader. */
export interface LeaderForwarder {
  propose(leaderAddress: string, command: Command): Promise<ApplyResult>;
}

export interface RaftClusterOptions {
  id: NodeId;
  node: RaftNode;
  storage: DurableStorage;
  transport: PeerTransport;
  forwarder: LeaderForwarder;
  /** The state recovered from the newest snapshot, and the index it holds. */
  recovered: { store: Store; members: MemberAddresses; confState: ConfState; applied: number };
  logger: Logger;
  tickMs: number;
  /** Take a snapshot (and compact the log) after this many applied entries... */
  snapshotEvery: number;
  /**
   * ...or after this many bytes of them, whichever comes first: the log since the last snapshot is
   * held in memory, and entries are up to megabytes (refused commands too), so a count alone does
   * not bound it.
   */
  snapshotEveryBytes: number;
  /** How long a write or read may wait for a leader and for commitment. */
  requestTimeoutMs: number;
  /** This manager was removed from the cluster. */
  onRemoved(): void;
  observer?: ClusterObserver;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

/**
 * Drives the Raft core: ticks it, feeds it peers' messages and local requests,
 * and handles each Ready in the order the core requires — persist (one sync),
 * then send, then apply, then advance. Work that arrives while a sync is under
 * way is batched into the next Ready, so one sync serves many writes.
 */
export class RaftCluster implements ClusterState {
  private currentStore: Store;
  private members: MemberAddresses;
  private confState: ConfState;
  private applied: number;
  private snapshotIndex: number;
  private bytesSinceSnapshot = 0;
  private softState: SoftState = { leader: None, role: 'follower' };
  /** The term and vote last made durable: a Ready that keeps them lets a leader send before its sync. */
  private durableTermVote: { term: number; vote: NodeId };
  private readonly writes = new Map<string, Waiter<ApplyResult>>();
  private readonly reads = new Map<string, Waiter<number>>();
  private appliedWaiters: Array<{ index: number; resolve: () => void }> = [];
  private readonly changes = new EventEmitter();
  private scheduled = false;
  private processing = false;
  private ticker: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly logger: Logger;

  constructor(private readonly options: RaftClusterOptions) {
    this.currentStore = options.recovered.store;
    this.members = options.recovered.members;
    this.confState = options.recovered.confState;
    this.applied = options.recovered.applied;
    this.snapshotIndex = options.recovered.applied;
    const { term, vote } = options.storage.initialState().hardState;
    this.durableTermVote = { term, vote };
    this.logger = options.logger.child({ component: 'raft' });
    this.changes.setMaxListeners(0);
    for (const [id, address] of Object.entries(this.members)) if (id !== options.id) options.transport.setPeer(id, address);
  }

  get store(): Store {
    return this.currentStore;
  }

  start(): void {
    // A lone voter needs nobody's vote: lead at once instead of after an election timeout.
    const { voters } = this.confState;
    if (voters.length === 1 && voters[0] === this.options.id) this.options.node.campaign();
    this.ticker = setInterval(() => {
      this.options.node.tick();
      this.promoteCaughtUpLearners();
      this.schedule();
    }, this.options.tickMs);
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.ticker);
    const closed = new ClusterUnavailableError('manager is stopping');
    for (const waiter of [...this.writes.values(), ...this.reads.values()]) waiter.reject(closed);
    this.writes.clear();
    this.reads.clear();
  }

  /** A message from a peer manager. */
  step(message: Message): void {
    if (this.stopped) return;
    this.options.node.step(message);
    this.schedule();
  }

  reportUnreachable(peer: NodeId): void {
    this.options.node.reportUnreachable(peer);
  }

  reportSnapshot(peer: NodeId, ok: boolean): void {
    this.options.node.reportSnapshot(peer, ok);
    this.schedule();
  }

  isLeader(): boolean {
    return this.softState.role === 'leader';
  }

  leaderAddress(): string | undefined {
    return this.softState.leader === None ? undefined : this.members[this.softState.leader];
  }


  memberAddresses(): MemberAddresses {
    return { ...this.members };
  }

  membership(): ConfState {
    return this.confState;
  }

  status() {
    return { ...this.options.node.status(), applied: this.applied };
  }

  onChange(listener: (revision: number) => void): () => void {
    this.changes.on('change', listener);
    return () => this.changes.off('change', listener);
  }

  onLeadershipChange(listener: (leading: boolean) => void): () => void {
    this.changes.on('leadership', listener);
    return () => this.changes.off('leadership', listener);
  }

  /** A command that fails its schema is refused here, before it reaches any log or leader. */
  async propose<C extends Command>(command: C): Promise<ApplyResult<C>> {
    const checked = checkCommand(command);
    if (!checked.ok) return checked;
    if (this.isLeader()) return this.proposeHere(command);
    const leader = await this.waitForLeaderAddress().catch((error: unknown) => {
      this.options.observer?.proposalFinished('failed');
      throw error;
    });
    if (this.isLeader()) return this.proposeHere(command);
    this.options.observer?.proposalFinished('forwarded');
    return (await this.options.forwarder.propose(leader, command)) as ApplyResult<C>;
  }

  /**
   * Proposes a command already checked against its schema on this manager, which must lead: `propose`
   * and the Propose RPC of followers (which refuses with a status of its own) check first, and `apply`
   * checks again whatever reaches the log.
   */
  proposeHere<C extends Command>(command: C): Promise<ApplyResult<C>> {
    const requestId = newId();
    const result = this.wait(this.writes, requestId, 'write not committed', this.options.requestTimeoutMs);
    try {
      this.options.node.propose(encodeProposal({ requestId, command }));
    } catch (error) {
      this.writes.get(requestId)?.reject(this.unavailable(error));
      this.writes.delete(requestId);
    }
    this.schedule();
    const observer = this.options.observer;
    if (observer) {
      result.then(
        () => observer.proposalFinished('committed'),
        () => observer.proposalFinished('failed'),
      );
    }
    return result as Promise<ApplyResult<C>>;
  }

  /**
   * ReadIndex: the leader confirms it still leads and names the commit index;
   * this replica answers once it has applied that far. A request lost with a
   * message or a leader is asked again, until the request deadline.
   */
  async readBarrier(): Promise<void> {
    const deadline = Date.now() + this.options.requestTimeoutMs;
    for (;;) {
      await this.waitForLeaderAddress();
      const requestContext = newId();
      const index = this.wait(this.reads, requestContext, 'read index not confirmed', this.retryIntervalMs());
      this.options.node.readIndex(requestContext);
      this.schedule();
      try {
        return await this.appliedUpTo(await index);
      } catch (error) {
        if (Date.now() > deadline || !(error instanceof ClusterUnavailableError)) throw error;
      }
    }
  }

  /** About one election timeout: long enough for a read or a leader to settle. */
  private retryIntervalMs(): number {
    return this.options.tickMs * 10;
  }

  /** Leader only: adds a learner or removes a member, and resolves once the change is applied here. */
  async changeMembership(change: ConfChange): Promise<void> {
    if (!this.isLeader()) throw new ClusterUnavailableError('not the leader');
    try {
      this.options.node.proposeConfChange(change);
    } catch (error) {
      throw this.unavailable(error);
    }
    this.schedule();
    const deadline = Date.now() + this.options.requestTimeoutMs;
    const applied = () => (change.type === 'removeNode' ? !(change.nodeId in this.members) : change.nodeId in this.members);
    while (!applied()) {
      if (Date.now() > deadline || this.stopped) throw new ClusterUnavailableError(`membership change of ${change.nodeId} not committed in time`);
      await new Promise((resolve) => setTimeout(resolve, this.options.tickMs));
    }
  }


  private wait<T>(table: Map<string, Waiter<T>>, key: string, what: string, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        table.delete(key);
        reject(new ClusterUnavailableError(`${what} within ${timeoutMs} ms: no leader with a quorum; it may still take effect`));
      }, timeoutMs);
      table.set(key, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  private unavailable(error: unknown): Error {
    if (error instanceof ProposalDroppedError) return new ClusterUnavailableError(`write refused by Raft: ${error.message}`);
    return error instanceof Error ? error : new Error(String(error));
  }

  private async waitForLeaderAddress(): Promise<string> {
    const deadline = Date.now() + this.options.requestTimeoutMs;
    for (;;) {
      const address = this.leaderAddress();
      if (address !== undefined || this.isLeader()) return address ?? '';
      if (Date.now() > deadline || this.stopped) throw new ClusterUnavailableError('no leader: fewer than a quorum of managers are reachable');
      await new Promise((resolve) => setTimeout(resolve, this.options.tickMs));
    }
  }

  private appliedUpTo(index: number): Promise<void> {
    if (this.applied >= index) return Promise.resolve();
    return new Promise((resolve) => this.appliedWaiters.push({ index, resolve }));
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.process();
    });
  }

  /** Handles Readies until the core has nothing more; one runs at a time. */
  private async process(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    const { node, storage, transport } = this.options;
    try {
      while (!this.stopped && node.hasReady()) {
        const ready = node.ready();
        if (ready.softState) this.onSoftState(ready.softState);
        // A leader's appends and heartbeats don't depend on its own log being durable (it counts
        // itself toward a quorum only once it is, see persisted()), so they go out while it syncs,
        // as in etcd (Raft thesis §10.2.1). A changed term or vote must be durable before any message.
        const sendFirst = this.isLeader() && !this.changesTermOrVote(ready.hardState);
        if (sendFirst) transport.send(ready.messages);
        if (ready.hardState || ready.entries.length > 0 || ready.snapshot) {
          await storage.save(ready.hardState, ready.entries, ready.snapshot, ready.mustSync);
          if (ready.hardState) this.durableTermVote = { term: ready.hardState.term, vote: ready.hardState.vote };
        }
        if (ready.snapshot) this.installSnapshot(ready.snapshot);
        if (!sendFirst) transport.send(ready.messages);
        this.apply(ready.committedEntries);
        for (const readState of ready.readStates) this.onReadState(readState);
        node.advance();
        await this.snapshotIfDue();
      }
    } catch (error) {
      // A failed sync leaves the log's durable end unknown: stop rather than acknowledge anything else.
      this.logger.fatal({ err: error }, 'raft storage failed; stopping this manager');
      await this.stop();
      process.exitCode = 1;
      this.options.onRemoved();
    } finally {
      this.processing = false;
    }
  }

  private changesTermOrVote(hardState: HardState | undefined): boolean {
    return hardState !== undefined && (hardState.term !== this.durableTermVote.term || hardState.vote !== this.durableTermVote.vote);
  }

  private onSoftState(softState: SoftState): void {
    const wasLeading = this.isLeader();
    if (softState.leader !== this.softState.leader || softState.role !== this.softState.role) {
      this.logger.info({ leader: softState.leader, role: softState.role, term: this.options.node.status().hardState.term }, 'raft role changed');
    }
    this.softState = softState;
    if (wasLeading !== this.isLeader()) this.changes.emit('leadership', this.isLeader());
  }

  private installSnapshot(snapshot: Snapshot): void {
    const payload = decodeSnapshotPayload(snapshot.data);
    this.currentStore = Store.restore(payload.store);
    this.setMembers(payload.members);
    this.confState = snapshot.metadata.confState;
    this.applied = snapshot.metadata.index;
    this.snapshotIndex = snapshot.metadata.index;
    this.bytesSinceSnapshot = 0;
    this.logger.info({ index: snapshot.metadata.index }, 'installed snapshot from the leader');
    this.changes.emit('change', this.currentStore.revision);
  }

  private apply(entries: Entry[]): void {
    let changed = false;
    for (const entry of entries) {
      if (entry.index <= this.applied) continue;
      if (entry.type === 'confChange') this.applyConfChange(decodeConfChange(entry.data));
      else if (entry.data.length > 0) changed = this.applyProposal(entry) || changed;
      this.bytesSinceSnapshot += entry.data.length;
      this.applied = entry.index;
    }
    const due = this.appliedWaiters.filter((waiter) => waiter.index <= this.applied);
    this.appliedWaiters = this.appliedWaiters.filter((waiter) => waiter.index > this.applied);
    for (const waiter of due) waiter.resolve();
    if (changed) this.changes.emit('change', this.currentStore.revision);
  }

  /** Whether the store took the entry's command. Whatever the entry holds, every replica gets past it alike. */
  private applyProposal(entry: Entry): boolean {
    const proposal = decodeProposal(entry.data);
    if (!proposal) {
      this.logger.error({ index: entry.index, term: entry.term, bytes: entry.data.length }, 'skipping a log entry that is not a proposal');
      return false;
    }
    const { requestId, command } = proposal;
    let result: ApplyResult;
    if (command.ok) {
      result = this.currentStore.apply(command.value);
      if (result.ok) this.options.observer?.applied(command.value, this.currentStore);
    } else {
      result = command;
      this.logger.warn({ index: entry.index, error: command.error }, 'refused a log entry whose command fails its schema');
    }
    this.writes.get(requestId)?.resolve(result);
    this.writes.delete(requestId);
    return result.ok;
  }

  private applyConfChange(change: ConfChange): void {
    this.confState = this.options.node.applyConfChange(change);
    this.setMembers(withChange(this.members, change));
    this.logger.info({ change, confState: this.confState }, 'membership changed');
    if (change.type === 'removeNode' && change.nodeId === this.options.id) this.options.onRemoved();
  }

  private setMembers(members: MemberAddresses): void {
    const { transport, id } = this.options;
    for (const peer of Object.keys(this.members)) if (!(peer in members)) transport.removePeer(peer);
    for (const [peer, address] of Object.entries(members)) if (peer !== id) transport.setPeer(peer, address);
    this.members = members;
  }

  private onReadState(readState: ReadState): void {
    this.reads.get(readState.requestContext)?.resolve(readState.index);
    this.reads.delete(readState.requestContext);
  }

  private async snapshotIfDue(): Promise<void> {
    const due = this.applied - this.snapshotIndex >= this.options.snapshotEvery || this.bytesSinceSnapshot >= this.options.snapshotEveryBytes;
    if (!due || this.applied === this.snapshotIndex) return;
    const payload = encodeSnapshotPayload({ store: this.currentStore.liveSnapshot(), members: this.members });
    await this.options.storage.createSnapshot(this.applied, this.confState, payload);
    this.snapshotIndex = this.applied;
    this.bytesSinceSnapshot = 0;
  }

  /** The leader promotes a learner once its log matches the leader's commit. */
  private promoteCaughtUpLearners(): void {
    if (!this.isLeader() || this.confState.learners.length === 0) return;
    const status = this.options.node.status();
    for (const learner of this.confState.learners) {
      const match = status.progress?.[learner]?.match ?? 0;
      if (match < status.hardState.commit) continue;
      try {
        this.options.node.proposeConfChange({ type: 'addVoter', nodeId: learner, context: this.members[learner] ?? '' });
        this.logger.info({ learner }, 'promoting caught-up learner');
      } catch {
        // One membership change at a time: retried on a later tick.
      }
      return;
    }
  }
}
