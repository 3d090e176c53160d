import type { Progress } from './progress';
import type { Raft } from './raft';
import type { NodeId } from './types';

/** Leader: sends `to` what it lacks, or an empty append that carries the commit index. */
export function sendAppend(raft: Raft, to: NodeId): void {
  maybeSendAppend(raft, to, true);
}

/**
 * Leader: sends the next batch of entries to `to` unless its progress is
 * paused; a follower that needs compacted entries gets the snapshot instead.
 * Returns whether a message went out.
 */
export function maybeSendAppend(raft: Raft, to: NodeId, sendIfEmpty: boolean): boolean {
  const progress = raft.tracker.progress.get(to);
  if (progress === undefined || to === raft.id || progress.isPaused()) return false;
  const previousIndex = progress.next - 1;
  const previousTerm = raft.log.term(previousIndex);
  if (previousTerm === undefined) {
    sendSnapshot(raft, to, progress);
    return true;
  }
  const entries = raft.log.slice(progress.next, raft.log.lastIndex() + 1, raft.config.maxSizePerMessage);
  if (entries.length === 0 && !sendIfEmpty) return false;
  raft.send({
    type: 'app',
    to,
    index: previousIndex,
    logTerm: previousTerm,
    entries,
    commit: raft.log.committed,
  });
  progress.sentEntries(entries.length, previousIndex + entries.length);
  return true;
}

function sendSnapshot(raft: Raft, to: NodeId, progress: Progress): void {
  const snapshot = raft.log.snapshot();
  raft.send({ type: 'snap', to, snapshot });
  progress.becomeSnapshot(snapshot.metadata.index);
}

export function bcastAppend(raft: Raft): void {
  for (const id of raft.tracker.progress.keys()) sendAppend(raft, id);
}

/** Heartbeats carry the newest pending read's context, so their answers confirm that read. */
export function bcastHeartbeat(raft: Raft, requestContext = raft.readOnly.lastRequestContext() ?? ''): void {
  for (const [id, progress] of raft.tracker.progress) {
    if (id === raft.id) continue;
    // A follower may not yet hold everything committed; never tell it to commit past what it has.
    const commit = Math.min(progress.match, raft.log.committed);
    raft.send({ type: 'heartbeat', to: id, commit, context: requestContext });
  }
}
