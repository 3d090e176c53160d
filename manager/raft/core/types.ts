/*
 * The Raft core's vocabulary, shared by the core, its storage, the transport,
 * the simulator and the manager's driver loop. The design follows etcd-io/raft:
 * a synchronous state machine with no clock, randomness or I/O, fed by tick(),
 * step() and proposals, and drained through Ready/advance().
 */

/** A member's id: stable for the member's life, unique in the cluster. */
export type NodeId = string;

/** `''` where no node is meant (no vote, no known leader). */
export const None: NodeId = '';

export type EntryType = 'normal' | 'confChange';

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  /** A normal entry's command, or an encoded ConfChange (see encodeConfChange). Empty for the leader's no-op. */
  data: Uint8Array;
}

/** What must be on disk before any message that depends on it is sent. */
export interface HardState {
  term: number;
  vote: NodeId;
  commit: number;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
}

export type ConfChangeType = 'addVoter' | 'addLearner' | 'removeNode';

/**
 * One membership change. `addVoter` on an existing learner promotes it.
 * `context` travels with the change to every member (the manager puts the new
 * member's address there).
 */
export interface ConfChange {
  type: ConfChangeType;
  nodeId: NodeId;
  context: string;
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  metadata: SnapshotMetadata;
  /** The application's state machine at `metadata.index`. */
  data: Uint8Array;
}

export type MessageType =
  | 'app' // append entries (leader → follower)
  | 'appResp'
  | 'vote'
  | 'voteResp'
  | 'preVote'
  | 'preVoteResp'
  | 'heartbeat'
  | 'heartbeatResp'
  | 'snap' // install snapshot (leader → follower)
  | 'timeoutNow' // leader transfer: campaign now, ignoring the lease
  | 'readIndex' // follower → leader: ask for a read index on a client's behalf
  | 'readIndexResp'
  | 'transferLeader'; // any member → leader: hand leadership to `from`'s `context`-named member

export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** Term of the entry at `index` (app: the entry before `entries`; vote: candidate's last). */
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  /** On a rejected app: the follower's hint of where the logs may match. */
  rejectHint: number;
  snapshot?: Snapshot;
  /** readIndex/readIndexResp/heartbeat: the read request's id; transferLeader: the transferee. */
  context: string;
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile state, reported when it changes; never persisted. */
export interface SoftState {
  leader: NodeId;
  role: Role;
}

/** A read request that may be served once the state machine has applied `index`. */
export interface ReadState {
  index: number;
  requestContext: string;
}

/**
 * Everything the core asks of its driver, in this order: persist `hardState`,
 * `entries` and `snapshot` (durably, one sync); only then send `messages`;
 * apply `committedEntries`; answer `readStates` when applied ≥ their index;
 * then call advance(). One exception, as in etcd: a leader may send before its
 * own sync when the Ready changes neither term nor vote, because the core counts
 * the leader's own entries toward a quorum only once they are persisted.
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  readStates: ReadState[];
  /** False when nothing in this Ready needs a sync (e.g. only messages and committed entries). */
  mustSync: boolean;
}

/**
 * The core's read-only view of what is durable. The driver appends to it after
 * each Ready's persistence, before advance(). Indexes before firstIndex() were
 * compacted into the snapshot.
 */
export interface RaftStorage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries [lo, hi), at most maxBytes of data (at least one entry if any). */
  entries(lo: number, hi: number, maxBytes?: number): Entry[];
  /** Term of the entry at index; firstIndex()−1 is answered from the snapshot. Throws CompactedError below that. */
  term(index: number): number;
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}

export class CompactedError extends Error {
  constructor(index: number) {
    super(`log index ${index} was compacted into a snapshot`);
  }
}

export interface RaftConfig {
  id: NodeId;
  /** Ticks without hearing from a leader before a follower campaigns; randomized in [electionTick, 2·electionTick). */
  electionTick: number;
  heartbeatTick: number;
  storage: RaftStorage;
  /** Index of the last entry the application has applied (on restart). */
  applied: number;
  /** Maximum bytes of entry data in one append message. */
  maxSizePerMessage: number;
  /** Maximum append messages in flight to one follower in replicate state. */
  maxInflightMessages: number;
  preVote: boolean;
  checkQuorum: boolean;
  /** Deterministic randomness (e.g. a seeded PRNG) for election timeouts: returns [0, 1). */
  random: () => number;
}

/** The state the driver reports as persisted up to, for one node (in tests and the simulator). */
export interface Status {
  id: NodeId;
  hardState: HardState;
  softState: SoftState;
  applied: number;
  lastIndex: number;
  confState: ConfState;
  /** On the leader: how far each member's log is known to match (its own included). */
  progress?: Record<NodeId, { match: number; next: number; state: 'probe' | 'replicate' | 'snapshot' }>;
}

/** A proposal the core cannot take now (no leader known, not the leader, a transfer under way, a change pending). */
export class ProposalDroppedError extends Error {}

/**
 * The core as the driver, the simulator and tests use it (etcd's RawNode).
 * Every method is synchronous and deterministic in its inputs.
 */
export interface RaftNode {
  tick(): void;
  /** A message from a peer. Messages of a stale or unknown sender are ignored, never thrown. */
  step(message: Message): void;
  /** Leader only; throws ProposalDroppedError otherwise. */
  propose(data: Uint8Array): void;
  /** Leader only, one pending change at a time; throws ProposalDroppedError otherwise. */
  proposeConfChange(change: ConfChange): void;
  /** Asks for a linearizable read point; answered in a later Ready's readStates (or dropped if leadership is lost). */
  readIndex(requestContext: string): void;
  transferLeadership(to: NodeId): void;
  /** Starts an election now (tests; a single-voter cluster elects itself on the first tick anyway). */
  campaign(): void;
  hasReady(): boolean;
  ready(): Ready;
  /** The last Ready was handled: persisted, sent, applied. */
  advance(): void;
  /** Called by the driver when it applies a committed confChange entry; returns the new configuration. */
  applyConfChange(change: ConfChange): ConfState;
  reportUnreachable(id: NodeId): void;
  reportSnapshot(id: NodeId, succeeded: boolean): void;
  status(): Status;
}

/**
 * What the driver needs of durable storage on top of the core's read view:
 * `save` makes a Ready's hard state, entries and snapshot durable with one sync
 * (entries may overwrite an uncommitted suffix); `createSnapshot` records the
 * application's state at an applied index and compacts the log before it.
 */
export interface DurableStorage extends RaftStorage {
  /**
   * With `mustSync` false (a Ready that only moves the commit index), the records are written
   * but not synced: a crash may lose them, which Raft tolerates (the commit index is re-learned).
   */
  save(hardState: HardState | undefined, entries: Entry[], snapshot: Snapshot | undefined, mustSync?: boolean): Promise<void>;
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Promise<void>;
  close(): Promise<void>;
}
