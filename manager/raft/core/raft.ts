import { encodeConfChange } from './conf-change';
import { RaftLog } from './log';
import { CAMPAIGN_TRANSFER, isFromLeader, newMessage, voteResponseType } from './message';
import type { MessageFields } from './message';
import { ReadOnly } from './read-only';
import { bcastAppend, bcastHeartbeat } from './replication';
import { handleReadIndex, handleTransferLeader, stepLeader } from './step-leader';
import { stepCandidate, stepFollower } from './step-follower';
import { ProgressTracker } from './tracker';
import { None, ProposalDroppedError } from './types';
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  NodeId,
  RaftConfig,
  ReadState,
  Role,
  Snapshot,
  SoftState,
} from './types';

/** A read asked of this node before it could be answered. */
export interface ReadRequest {
  from: NodeId;
  requestContext: string;
}

/**
 * The Raft state machine: roles, terms, elections and the leader's
 * bookkeeping. Pure: every output is a message in `messages`, a read in
 * `readStates`, or a change to `log` — the RawNode turns them into Readys.
 * The per-role message handling lives in step-leader.ts and step-follower.ts.
 */
export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = None;
  lead: NodeId = None;
  role: Role = 'follower';
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  /** Outgoing messages, taken by the next Ready. */
  messages: Message[] = [];
  /** Answered reads, taken by the next Ready. */
  readStates: ReadState[] = [];
  /** Ticks since the last election timeout reset (leader: since the last check-quorum round). */
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  /** Leader: the member leadership is being handed to. */
  leadTransferee: NodeId = None;
  /** Leader: index of the last conf change that may not be applied yet; a new one waits until it is. */
  pendingConfIndex = 0;
  readOnly = new ReadOnly();
  /** Leader: reads that wait until an entry of this term is committed. */
  pendingReads: ReadRequest[] = [];

  constructor(readonly config: RaftConfig) {
    if (config.heartbeatTick <= 0 || config.electionTick <= config.heartbeatTick) {
      throw new Error('raft config: need 0 < heartbeatTick < electionTick');
    }
    if (config.maxInflightMessages <= 0) throw new Error('raft config: maxInflightMessages must be positive');
    this.id = config.id;
    const { hardState, confState } = config.storage.initialState();
    this.log = new RaftLog(config.storage);
    this.tracker = new ProgressTracker(confState, config.maxInflightMessages);
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.log.commitTo(hardState.commit);
    if (config.applied > 0) {
      if (config.applied < this.log.firstIndex() - 1) {
        throw new Error(`raft config: applied ${config.applied} is before the storage snapshot; restore it first`);
      }
      this.log.appliedTo(config.applied);
    }
    this.becomeFollower(this.term, None);
  }

  send(fields: MessageFields): void {
    this.messages.push(newMessage({ from: this.id, term: this.term, ...fields }));
  }

  softState(): SoftState {
    return { leader: this.lead, role: this.role };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** Only voters campaign; a learner or a removed member never does. */
  promotable(): boolean {
    return this.tracker.isVoter(this.id);
  }

  tick(): void {
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.config.electionTick) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum) {
        if (!this.tracker.quorumActive(this.id)) {
          this.becomeFollower(this.term, None);
          return;
        }
        this.tracker.resetRecentActive();
      }
      // A transfer that did not finish within an election timeout will not finish.
      this.abortLeaderTransfer();
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTick) {
      this.heartbeatElapsed = 0;
      bcastHeartbeat(this);
    }
  }

  step(message: Message): void {
    if (message.term > this.term) {
      if (message.type === 'vote' || message.type === 'preVote') {
        // Leader lease: while we hear from a leader, nobody else may start a term —
        // which is what keeps a node that only lost contact with the leader from
        // disturbing it. A transfer the leader itself started is exempt.
        const inLease =
          this.config.checkQuorum && this.lead !== None && this.electionElapsed < this.config.electionTick;
        if (inLease && message.context !== CAMPAIGN_TRANSFER) return;
      }
      // A pre-vote (or a granted answer to ours) says nothing about the term anyone is in.
      const termUnchanged = message.type === 'preVote' || (message.type === 'preVoteResp' && !message.reject);
      if (!termUnchanged) this.becomeFollower(message.term, isFromLeader(message) ? message.from : None);
    } else if (message.term < this.term) {
      this.answerStaleMessage(message);
      return;
    }

    switch (message.type) {
      case 'vote':
      case 'preVote':
        this.handleVoteRequest(message, message.type);
        return;
      default:
        if (this.role === 'leader') stepLeader(this, message);
        else if (this.role === 'follower') stepFollower(this, message);
        else stepCandidate(this, message);
    }
  }

  /**
   * A stale leader learns our term from the answer and steps down; a stale
   * pre-candidate learns it too and stops asking. Without this, a node cut off
   * behind pre-vote could never learn the term it must catch up with.
   */
  private answerStaleMessage(message: Message): void {
    const guarded = this.config.checkQuorum || this.config.preVote;
    if (guarded && (message.type === 'app' || message.type === 'heartbeat')) {
      this.send({ type: 'appResp', to: message.from });
    } else if (message.type === 'preVote') {
      this.send({ type: 'preVoteResp', to: message.from, reject: true });
    }
  }

  /** §5.2 and §5.4.1: one vote per term, only for a log at least as up to date as ours. */
  private handleVoteRequest(message: Message, requestType: 'vote' | 'preVote'): void {
    const canVote =
      this.vote === message.from ||
      (this.vote === None && this.lead === None) ||
      (requestType === 'preVote' && message.term > this.term);
    const type = voteResponseType(requestType);
    if (canVote && this.log.isUpToDate(message.index, message.logTerm)) {
      this.send({ type, to: message.from, term: message.term });
      if (requestType === 'vote') {
        this.electionElapsed = 0;
        this.vote = message.from;
      }
    } else {
      this.send({ type, to: message.from, reject: true });
    }
  }

  /** Starts an election unless this node may not: leader already, not a voter, or a conf change to apply first. */
  hup(transfer: boolean): void {
    if (this.role === 'leader' || !this.promotable() || this.hasUnappliedConfChanges()) return;
    if (this.config.preVote && !transfer) this.campaign('preElection', false);
    else this.campaign('election', transfer);
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.log.committed <= this.log.applied) return false;
    return this.log
      .slice(this.log.applied + 1, this.log.committed + 1)
      .some((entry) => entry.type === 'confChange');
  }

  campaign(kind: 'preElection' | 'election', transfer: boolean): void {
    const type = kind === 'preElection' ? 'preVote' : 'vote';
    if (kind === 'preElection') this.becomePreCandidate();
    else this.becomeCandidate();
    // A pre-vote asks about the term we would start, without starting it.
    const voteTerm = kind === 'preElection' ? this.term + 1 : this.term;
    if (this.tracker.recordVote(this.id, true) === 'won') {
      this.winElection();
      return;
    }
    for (const voter of this.tracker.voterIds()) {
      if (voter === this.id) continue;
      this.send({
        type,
        to: voter,
        term: voteTerm,
        index: this.log.lastIndex(),
        logTerm: this.log.lastTerm(),
        context: transfer ? CAMPAIGN_TRANSFER : '',
      });
    }
  }

  winElection(): void {
    if (this.role === 'preCandidate') this.campaign('election', false);
    else this.becomeLeader();
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
  }

  private becomePreCandidate(): void {
    // Neither term nor vote change: a failed pre-vote leaves no trace.
    this.tracker.resetVotes();
    this.lead = None;
    this.role = 'preCandidate';
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    // Any conf change in the log may still be unapplied; count it as pending.
    this.pendingConfIndex = this.log.lastIndex();
    // Committing an entry of its own term is how a leader learns what is committed (§5.4.2, §8).
    this.appendEntries([{ type: 'normal', data: new Uint8Array() }]);
    bcastAppend(this);
  }

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = None;
    }
    this.lead = None;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout =
      this.config.electionTick + Math.floor(this.config.random() * this.config.electionTick);
    this.abortLeaderTransfer();
    this.tracker.resetVotes();
    this.tracker.resetProgress(this.log.lastIndex() + 1);
    this.tracker.progress.get(this.id)?.maybeUpdate(this.log.lastStableIndex());
    this.pendingConfIndex = 0;
    this.readOnly = new ReadOnly();
    this.pendingReads = [];
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = None;
  }

  private appendEntries(entries: Array<Pick<Entry, 'type' | 'data'>>): void {
    const first = this.log.lastIndex() + 1;
    this.log.append(entries.map((entry, offset) => ({ ...entry, term: this.term, index: first + offset })));
  }

  /**
   * Leader: commits what a quorum of voters holds, if it is of this term.
   * The first such commit also releases the reads that waited for it.
   */
  maybeCommit(): boolean {
    if (!this.log.maybeCommit(this.tracker.committedIndex(), this.term)) return false;
    const waiting = this.pendingReads;
    this.pendingReads = [];
    for (const read of waiting) handleReadIndex(this, read);
    return true;
  }

  propose(data: Uint8Array): void {
    this.checkCanPropose();
    this.appendEntries([{ type: 'normal', data }]);
    bcastAppend(this);
  }

  proposeConfChange(change: ConfChange): void {
    this.checkCanPropose();
    if (this.pendingConfIndex > this.log.applied) {
      throw new ProposalDroppedError('a membership change is still pending');
    }
    if (change.type === 'removeNode' && this.tracker.isVoter(change.nodeId) && this.tracker.voterCount() === 1) {
      throw new ProposalDroppedError('cannot remove the last voter');
    }
    this.appendEntries([{ type: 'confChange', data: encodeConfChange(change) }]);
    this.pendingConfIndex = this.log.lastIndex();
    bcastAppend(this);
  }

  private checkCanPropose(): void {
    if (this.role !== 'leader') throw new ProposalDroppedError(`not the leader (leader: ${this.lead || 'unknown'})`);
    if (this.leadTransferee !== None) throw new ProposalDroppedError('a leadership transfer is under way');
  }

  readIndex(requestContext: string): void {
    if (this.role === 'leader') handleReadIndex(this, { from: this.id, requestContext });
    else if (this.lead !== None) this.send({ type: 'readIndex', to: this.lead, context: requestContext });
  }

  transferLeadership(to: NodeId): void {
    if (this.role === 'leader') handleTransferLeader(this, to);
    else if (this.lead !== None) this.send({ type: 'transferLeader', to: this.lead, context: to });
  }

  applyConfChange(change: ConfChange): ConfState {
    const changed = this.tracker.apply(change, this.log.lastIndex() + 1);
    if (this.role === 'leader' && changed) {
      if (!this.tracker.isVoter(this.id)) {
        // A removed leader steps down; the others elect a leader among themselves.
        this.becomeFollower(this.term, None);
      } else {
        if (!this.tracker.isVoter(this.leadTransferee)) this.abortLeaderTransfer();
        // A smaller quorum may commit more; new members need their first append.
        this.maybeCommit();
        bcastAppend(this);
      }
    }
    return this.tracker.confState();
  }

  /** Follower: installs the leader's snapshot unless the log already holds it; returns whether it did. */
  restore(snapshot: Snapshot): boolean {
    const { index, term, confState } = snapshot.metadata;
    if (index <= this.log.committed) return false;
    if (this.log.matchTerm(index, term)) {
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(snapshot);
    this.tracker.restore(confState, this.log.lastIndex() + 1);
    return true;
  }

  /** The driver persisted everything up to the log's stable part; a leader counts itself now. */
  persisted(): void {
    if (this.role !== 'leader') return;
    this.tracker.progress.get(this.id)?.maybeUpdate(this.log.lastStableIndex());
    if (this.maybeCommit()) bcastAppend(this);
  }

  reportUnreachable(id: NodeId): void {
    const progress = this.tracker.progress.get(id);
    if (this.role === 'leader' && progress?.state === 'replicate') progress.becomeProbe();
  }

  reportSnapshot(id: NodeId, succeeded: boolean): void {
    const progress = this.tracker.progress.get(id);
    if (this.role !== 'leader' || progress?.state !== 'snapshot') return;
    if (!succeeded) progress.pendingSnapshot = 0;
    progress.becomeProbe();
    // Wait for a heartbeat answer before probing again.
    progress.probeSent = true;
  }
}
