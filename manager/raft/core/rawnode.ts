import { Raft } from './raft';
import type {
  ConfChange,
  ConfState,
  HardState,
  Message,
  NodeId,
  RaftConfig,
  RaftNode,
  Ready,
  SoftState,
  Status,
} from './types';

/**
 * The node as its driver sees it: inputs go to the Raft state machine, and
 * what came out since the last advance() is collected into one Ready.
 * At most one Ready is outstanding: ready() hands it out, advance() says it
 * was persisted, sent and applied.
 */
export class RawNode implements RaftNode {
  private readonly raft: Raft;
  private previousSoftState: SoftState;
  private previousHardState: HardState;
  private outstanding: Ready | undefined = undefined;

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.previousSoftState = this.raft.softState();
    this.previousHardState = this.raft.hardState();
  }

  tick(): void {
    this.raft.tick();
  }

  step(message: Message): void {
    if (message.to !== this.raft.id) return;
    this.raft.step(message);
  }

  propose(data: Uint8Array): void {
    this.raft.propose(data);
  }

  proposeConfChange(change: ConfChange): void {
    this.raft.proposeConfChange(change);
  }

  readIndex(requestContext: string): void {
    this.raft.readIndex(requestContext);
  }

  transferLeadership(to: NodeId): void {
    this.raft.transferLeadership(to);
  }

  campaign(): void {
    this.raft.hup(false);
  }

  /** False while a Ready is outstanding: the next one is built after advance(). */
  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    const { raft } = this;
    return (
      !sameSoftState(raft.softState(), this.previousSoftState) ||
      !sameHardState(raft.hardState(), this.previousHardState) ||
      raft.log.unstable.snapshot !== undefined ||
      raft.log.unstable.entries.length > 0 ||
      raft.messages.length > 0 ||
      raft.readStates.length > 0 ||
      raft.log.hasNextCommittedEntries()
    );
  }

  ready(): Ready {
    if (this.outstanding !== undefined) throw new Error('ready() called again before advance()');
    const { raft } = this;
    const softState = raft.softState();
    const hardState = raft.hardState();
    const hardStateChanged = !sameHardState(hardState, this.previousHardState);
    const entries = [...raft.log.unstable.entries];
    const snapshot = raft.log.unstable.snapshot;
    const ready: Ready = {
      ...(sameSoftState(softState, this.previousSoftState) ? {} : { softState }),
      ...(hardStateChanged ? { hardState } : {}),
      entries,
      ...(snapshot === undefined ? {} : { snapshot }),
      committedEntries: raft.log.nextCommittedEntries(),
      messages: raft.messages,
      readStates: raft.readStates,
      // A new commit index alone can be recovered from the others; a vote, a term or entries cannot.
      mustSync:
        entries.length > 0 ||
        snapshot !== undefined ||
        hardState.term !== this.previousHardState.term ||
        hardState.vote !== this.previousHardState.vote,
    };
    raft.messages = [];
    raft.readStates = [];
    if (ready.softState !== undefined) this.previousSoftState = softState;
    this.outstanding = ready;
    return ready;
  }

  advance(): void {
    const ready = this.outstanding;
    if (ready === undefined) return;
    this.outstanding = undefined;
    const { log } = this.raft;
    if (ready.hardState !== undefined) this.previousHardState = ready.hardState;
    if (ready.snapshot !== undefined) {
      log.stableSnapshotTo(ready.snapshot.metadata.index);
      log.appliedTo(ready.snapshot.metadata.index);
    }
    const lastEntry = ready.entries[ready.entries.length - 1];
    if (lastEntry !== undefined) log.stableTo(lastEntry.index, lastEntry.term);
    const lastCommitted = ready.committedEntries[ready.committedEntries.length - 1];
    if (lastCommitted !== undefined) log.appliedTo(lastCommitted.index);
    this.raft.persisted();
  }

  applyConfChange(change: ConfChange): ConfState {
    return this.raft.applyConfChange(change);
  }

  reportUnreachable(id: NodeId): void {
    this.raft.reportUnreachable(id);
  }

  reportSnapshot(id: NodeId, succeeded: boolean): void {
    this.raft.reportSnapshot(id, succeeded);
  }

  status(): Status {
    const { raft } = this;
    return {
      id: raft.id,
      hardState: raft.hardState(),
      softState: raft.softState(),
      applied: raft.log.applied,
      lastIndex: raft.log.lastIndex(),
      confState: raft.tracker.confState(),
      progress: raft.softState().role === 'leader' ? progressOf(raft) : undefined,
    };
  }
}

export function createRaftNode(config: RaftConfig): RaftNode {
  return new RawNode(config);
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.leader === b.leader && a.role === b.role;
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function progressOf(raft: Raft): NonNullable<Status['progress']> {
  const progress: NonNullable<Status['progress']> = {};
  for (const [id, { match, next, state }] of raft.tracker.progress) progress[id] = { match, next, state };
  return progress;
}
