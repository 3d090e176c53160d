import { None } from '../core';
import type { Entry, Message, NodeId, Status } from '../core';
import { durableLastIndex, durableTermAt } from './fake-disk';
import type { DiskImage, DiskWrite } from './fake-disk';

export class InvariantViolation extends Error {
  constructor(
    readonly invariant: string,
    readonly detail: string,
  ) {
    super(`${invariant}: ${detail}`);
  }
}

interface TermAndCommit {
  term: number;
  commit: number;
}

/**
 * What the checker is told about the driver. `leaderMaySendUnsyncedEntries`
 * is production's one exception to "persist, then send" (see Ready in
 * core/types.ts): a leader's appends, heartbeats and snapshots may carry
 * entries its own disk does not hold yet. Without it, they must be durable too.
 */
export interface CheckerOptions {
  leaderMaySendUnsyncedEntries: boolean;
}

/** What first identified the entry at an (index, term): its data and the term of the entry before it. */
interface EntryIdentity {
  data: string;
  previousTerm: number;
}

/**
 * Raft's safety properties, checked from the outside after every simulator
 * step. Everything is recorded across all time and all crashes, so a property
 * broken by a node that forgot what it once said is caught too.
 */
export class InvariantChecker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly voteOfTerm = new Map<string, NodeId>();
  private readonly entryAt = new Map<string, EntryIdentity>();
  private readonly appliedAt = new Map<number, { term: number; data: string }>();
  /** Per node: the last term and commit seen in memory, in which life. */
  private readonly inMemory = new Map<NodeId, TermAndCommit & { incarnation: number }>();
  /** Per node, across lives: the last synced term and commit. */
  private readonly onDisk = new Map<NodeId, TermAndCommit>();
  /**
   * For each committed index, a term by which it was surely committed: the
   * term of the first node seen to know it committed (a node learns of a
   * commit at a term no lower than the commit's own).
   */
  private readonly committedByTerm: number[] = [];
  private highestCommitSeen = 0;
  /** Leaders whose durable log already ends in an entry of their own term: their log is fixed below it. */
  private readonly establishedLeaders = new Map<NodeId, number>();
  /**
   * Per term, the leader's log as its messages showed it: index → entry term.
   * A leader never rewrites its log within its term, so this is one fixed log,
   * against which a follower's acknowledgement is checked.
   */
  private readonly leaderLogs = new Map<number, Map<number, number>>();
  /** Per leader: the highest commit index already checked against the voters' disks, in which term. */
  private readonly quorumCheckedCommit = new Map<NodeId, { term: number; commit: number }>();

  constructor(
    private readonly durableImageOf: (node: NodeId) => Readonly<DiskImage>,
    private readonly options: CheckerOptions = { leaderMaySendUnsyncedEntries: true },
  ) {}

  /** After every step, for every live node. */
  observeStatus(status: Status, incarnation: number): void {
    const { id, hardState, softState } = status;
    this.checkNeverBackwards(id, hardState.term, hardState.commit, incarnation);
    this.recordCommit(hardState.commit, hardState.term);
    if (softState.role !== 'leader') {
      this.establishedLeaders.delete(id);
      return;
    }
    const leader = this.leaderOfTerm.get(hardState.term);
    if (leader === undefined) this.leaderOfTerm.set(hardState.term, id);
    else if (leader !== id) {
      throw new InvariantViolation('election safety', `${leader} and ${id} were both leader in term ${hardState.term}`);
    }
    this.establishIfDurable(id, hardState.term);
    this.checkCommitDurableOnQuorum(status);
  }

  observeCrash(node: NodeId): void {
    this.establishedLeaders.delete(node);
  }

  /** After a node's write is synced: `written` is what the sync made durable. */
  observeDurable(node: NodeId, written: DiskWrite): void {
    const image = this.durableImageOf(node);
    const { term, commit, vote } = image.hardState;
    const before = this.onDisk.get(node);
    if (before && (term < before.term || commit < before.commit)) {
      throw new InvariantViolation(
        'durable term and commit never decrease',
        `${node} synced term ${term} commit ${commit} after term ${before.term} commit ${before.commit}`,
      );
    }
    this.onDisk.set(node, { term, commit });
    if (commit > durableLastIndex(image)) {
      throw new InvariantViolation('commit is durable', `${node} synced commit ${commit} beyond its durable log ${durableLastIndex(image)}`);
    }
    if (vote !== None) {
      const voteKey = `${node}@${term}`;
      const earlier = this.voteOfTerm.get(voteKey);
      if (earlier !== undefined && earlier !== vote) {
        throw new InvariantViolation('one vote per term', `${node} voted for ${earlier} and then ${vote} in term ${term}`);
      }
      this.voteOfTerm.set(voteKey, vote);
    }
    for (const entry of written.entries) this.checkLogMatching(node, image, entry);
  }

  /**
   * When a message is handed to the network: everything the message asserts
   * about its sender must already be on the sender's disk, or a crash could
   * make the sender contradict it. That is its term; for a vote request, the
   * candidate's vote for itself; for a granted vote, the vote; for an accepted
   * append, the acknowledged entry. A leader's appends, heartbeats and
   * snapshots assert nothing about the leader's own durable log beyond its
   * term (it counts itself toward a quorum only once it persisted), so their
   * entries may be ahead of its disk — unless the driver was strict — but never
   * contradict it.
   */
  observeSend(message: Message): void {
    if (message.type === 'preVote' || message.type === 'preVoteResp') return; // they promise nothing
    const image = this.durableImageOf(message.from);
    const durable = image.hardState;
    const violation = (what: string): InvariantViolation =>
      new InvariantViolation('message sent before its state was durable', `${message.type} ${message.from}→${message.to} at term ${message.term}: ${what}`);
    if (message.term > durable.term) throw violation(`durable term is only ${durable.term}`);
    const leaderLog = this.recordLeaderLog(message);
    if (message.term < durable.term) return; // sent from an older term the node has durably left
    if (message.type === 'vote' && durable.vote !== message.from) throw violation(`durable vote is '${durable.vote}', not itself`);
    if (message.type === 'voteResp' && !message.reject && durable.vote !== message.to) {
      throw violation(`grants a vote but the durable vote is '${durable.vote}'`);
    }
    if (message.type === 'appResp' && !message.reject) {
      const durableLast = durableLastIndex(image);
      if (durableLast < message.index) throw violation(`acknowledges index ${message.index} but the durable log ends at ${durableLast}`);
      const leaderTerm = this.leaderLogs.get(message.term)?.get(message.index);
      const durableTerm = durableTermAt(image, message.index);
      if (leaderTerm !== undefined && durableTerm !== undefined && durableTerm !== leaderTerm) {
        throw violation(`acknowledges index ${message.index}, term ${leaderTerm} in the leader's log, but the durable entry there has term ${durableTerm}`);
      }
    }
    for (const [index, term] of leaderLog) {
      const durableTerm = durableTermAt(image, index);
      if (durableTerm === term || index < image.snapshot.metadata.index) continue; // durable, or compacted (so committed)
      if (durableTerm !== undefined) throw violation(`carries term ${term} at index ${index}, where its durable log has term ${durableTerm}`);
      if (!this.options.leaderMaySendUnsyncedEntries) throw violation(`carries index ${index} but the durable log ends at ${durableLastIndex(image)}`);
    }
  }

  /** When a node applies a committed entry to its state machine. */
  observeApply(node: NodeId, entry: Entry): void {
    const data = bytesKey(entry.data);
    const earlier = this.appliedAt.get(entry.index);
    if (earlier === undefined) {
      this.appliedAt.set(entry.index, { term: entry.term, data });
      this.checkCommittedAgainstLeaders(entry.index);
      return;
    }
    if (earlier.term !== entry.term || earlier.data !== data) {
      throw new InvariantViolation(
        'state machine safety',
        `${node} applied term ${entry.term} at index ${entry.index}, where term ${earlier.term} (or other data) was applied before`,
      );
    }
  }

  /**
   * A leader's appends, heartbeats and snapshots: the sender leads the
   * message's term (election safety, seen from the wire) and the (index, term)
   * pairs they name join that term's leader log, which must never change.
   * Returns those pairs.
   */
  private recordLeaderLog(message: Message): Array<[number, number]> {
    if (message.type !== 'app' && message.type !== 'heartbeat' && message.type !== 'snap') return [];
    const leader = this.leaderOfTerm.get(message.term);
    if (leader === undefined) this.leaderOfTerm.set(message.term, message.from);
    else if (leader !== message.from) {
      throw new InvariantViolation('election safety', `${message.from} sent ${message.type} in term ${message.term}, which ${leader} leads`);
    }
    const pairs: Array<[number, number]> = [];
    if (message.type === 'app') {
      if (message.index > 0) pairs.push([message.index, message.logTerm]);
      for (const entry of message.entries) pairs.push([entry.index, entry.term]);
    } else if (message.type === 'snap' && message.snapshot) {
      pairs.push([message.snapshot.metadata.index, message.snapshot.metadata.term]);
    }
    let log = this.leaderLogs.get(message.term);
    if (!log) {
      log = new Map();
      this.leaderLogs.set(message.term, log);
    }
    for (const [index, term] of pairs) {
      const known = log.get(index);
      if (known === undefined) log.set(index, term);
      else if (known !== term) {
        throw new InvariantViolation(
          'leader append-only',
          `${message.from}, leader of term ${message.term}, sent term ${term} at index ${index} after sending term ${known} there`,
        );
      }
    }
    return pairs;
  }

  /**
   * What a leader commits is durable on a quorum of voters. This is the premise
   * of letting a leader send before its own sync: the core may count the
   * leader's entries only once they are persisted, so a commit never rests on
   * a copy a crash can lose. Durable entries are never lost afterwards (a
   * committed entry is never overwritten, a snapshot only covers it), so
   * checking each new commit index once is enough.
   */
  private checkCommitDurableOnQuorum(status: Status): void {
    const { id, hardState, confState } = status;
    const checked = this.quorumCheckedCommit.get(id);
    if (checked && checked.term === hardState.term && checked.commit >= hardState.commit) return;
    const index = hardState.commit;
    const term = this.leaderLogs.get(hardState.term)?.get(index) ?? durableTermAt(this.durableImageOf(id), index);
    const holders = confState.voters.filter((voter) => {
      const image = this.durableImageOf(voter);
      if (index <= image.snapshot.metadata.index) return true;
      return term === undefined ? durableLastIndex(image) >= index : durableTermAt(image, index) === term;
    });
    if (holders.length * 2 <= confState.voters.length) {
      throw new InvariantViolation(
        'committed entries are durable on a quorum',
        `${id}, leader of term ${hardState.term}, commits index ${index}${term === undefined ? '' : ` (term ${term})`}, durable only on [${holders.join(', ')}] of ${confState.voters.length} voters`,
      );
    }
    this.quorumCheckedCommit.set(id, { term: hardState.term, commit: index });
  }

  private checkNeverBackwards(node: NodeId, term: number, commit: number, incarnation: number): void {
    const before = this.inMemory.get(node);
    if (before && before.incarnation === incarnation && (term < before.term || commit < before.commit)) {
      throw new InvariantViolation(
        'term and commit never decrease',
        `${node} went from term ${before.term} commit ${before.commit} to term ${term} commit ${commit}`,
      );
    }
    const durableTerm = this.onDisk.get(node)?.term ?? 0;
    if (term < durableTerm) {
      throw new InvariantViolation('term and commit never decrease', `${node} is at term ${term} below its durable term ${durableTerm}`);
    }
    this.inMemory.set(node, { term, commit, incarnation });
  }

  /**
   * Log matching by induction: if every (index, term) ever written names one
   * data and one previous term, two logs that share an (index, term) share
   * their whole prefix.
   */
  private checkLogMatching(node: NodeId, image: Readonly<DiskImage>, entry: Entry): void {
    const previousTerm = durableTermAt(image, entry.index - 1);
    if (previousTerm === undefined) return; // the entry before was compacted into a snapshot since
    const identity: EntryIdentity = { data: bytesKey(entry.data), previousTerm };
    const key = `${entry.index}:${entry.term}`;
    const earlier = this.entryAt.get(key);
    if (earlier === undefined) {
      this.entryAt.set(key, identity);
      return;
    }
    if (earlier.data !== identity.data || earlier.previousTerm !== identity.previousTerm) {
      throw new InvariantViolation(
        'log matching',
        `${node} holds a different entry (or a different predecessor) at index ${entry.index} term ${entry.term} than another log did`,
      );
    }
  }

  private recordCommit(commit: number, term: number): void {
    for (let index = this.highestCommitSeen + 1; index <= commit; index++) {
      this.committedByTerm[index] = term;
      this.checkCommittedAgainstLeaders(index);
    }
    this.highestCommitSeen = Math.max(this.highestCommitSeen, commit);
  }

  private establishIfDurable(node: NodeId, term: number): void {
    if (this.establishedLeaders.get(node) === term) return;
    const image = this.durableImageOf(node);
    if (durableTermAt(image, durableLastIndex(image)) !== term) return;
    this.establishedLeaders.set(node, term);
    for (const index of this.appliedAt.keys()) this.checkLeaderHas(node, term, index);
  }

  /** Leader completeness for one committed index, once both its term and its commit bound are known. */
  private checkCommittedAgainstLeaders(index: number): void {
    if (!this.appliedAt.has(index) || this.committedByTerm[index] === undefined) return;
    for (const [leader, term] of this.establishedLeaders) this.checkLeaderHas(leader, term, index);
  }

  private checkLeaderHas(leader: NodeId, leaderTerm: number, index: number): void {
    const committedBy = this.committedByTerm[index];
    const applied = this.appliedAt.get(index);
    if (committedBy === undefined || applied === undefined || committedBy >= leaderTerm) return;
    const image = this.durableImageOf(leader);
    if (index < image.snapshot.metadata.index) return; // covered by its snapshot; state machine safety checks the content
    const term = durableTermAt(image, index);
    if (term !== applied.term) {
      throw new InvariantViolation(
        'leader completeness',
        `${leader}, leader of term ${leaderTerm}, has ${term === undefined ? 'no entry' : `term ${term}`} at index ${index}, committed with term ${applied.term} by term ${committedBy}`,
      );
    }
  }
}

function bytesKey(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
}
