import type { Progress } from './progress';
import type { Raft, ReadRequest } from './raft';
import type { PendingRead } from './read-only';
import { bcastAppend, bcastHeartbeat, maybeSendAppend, sendAppend } from './replication';
import type { Message, NodeId } from './types';

export function stepLeader(raft: Raft, message: Message): void {
  switch (message.type) {
    case 'readIndex':
      handleReadIndex(raft, { from: message.from, requestContext: message.context });
      return;
    case 'transferLeader':
      handleTransferLeader(raft, message.context);
      return;
  }
  const progress = raft.tracker.progress.get(message.from);
  if (progress === undefined) return;
  progress.recentActive = true;
  if (message.type === 'appResp') handleAppendResponse(raft, message, progress);
  else if (message.type === 'heartbeatResp') handleHeartbeatResponse(raft, message, progress);
}

function handleAppendResponse(raft: Raft, message: Message, progress: Progress): void {
  if (message.reject) {
    // Skip every entry the follower's hint shows cannot match, not one per round trip.
    const hint =
      message.logTerm > 0 ? raft.log.findConflictByTerm(message.rejectHint, message.logTerm).index : message.rejectHint;
    if (progress.maybeDecrementTo(message.index, hint)) {
      if (progress.state === 'replicate') progress.becomeProbe();
      sendAppend(raft, message.from);
    }
    return;
  }

  const wasPaused = progress.isPaused();
  const probeConfirmed = progress.match === message.index && progress.state === 'probe';
  if (!progress.maybeUpdate(message.index) && !probeConfirmed) return;
  if (progress.state === 'probe') {
    progress.becomeReplicate();
  } else if (progress.state === 'snapshot') {
    // Caught up to entries we still have: back to streaming.
    if (progress.match + 1 >= raft.log.firstIndex()) {
      progress.becomeProbe();
      progress.becomeReplicate();
    }
  } else {
    progress.inflights.freeLE(message.index);
  }

  if (raft.maybeCommit()) bcastAppend(raft);
  else if (wasPaused) sendAppend(raft, message.from);
  while (maybeSendAppend(raft, message.from, false));

  if (message.from === raft.leadTransferee && progress.match === raft.log.lastIndex()) {
    raft.send({ type: 'timeoutNow', to: message.from });
  }
}

function handleHeartbeatResponse(raft: Raft, message: Message, progress: Progress): void {
  progress.probeSent = false;
  if (progress.match < raft.log.lastIndex()) sendAppend(raft, message.from);
  if (message.context === '') return;
  const acks = raft.readOnly.recordAck(message.from, message.context);
  if (acks === undefined || !raft.tracker.hasQuorum(acks)) return;
  for (const read of raft.readOnly.release(message.context)) answerRead(raft, read);
}

/**
 * A read is linearizable at the current commit index once a quorum confirms
 * this node still leads. Until this leader has committed an entry of its own
 * term, its commit index may lag what earlier leaders committed, so the read waits.
 */
export function handleReadIndex(raft: Raft, request: ReadRequest): void {
  if (raft.log.term(raft.log.committed) !== raft.term) {
    raft.pendingReads.push(request);
    return;
  }
  const { from, requestContext } = request;
  raft.readOnly.add(raft.log.committed, requestContext, from);
  const acks = raft.readOnly.recordAck(raft.id, requestContext);
  if (acks !== undefined && raft.tracker.hasQuorum(acks)) {
    for (const read of raft.readOnly.release(requestContext)) answerRead(raft, read);
  } else {
    bcastHeartbeat(raft, requestContext);
  }
}

function answerRead(raft: Raft, read: PendingRead): void {
  if (read.from === raft.id) {
    raft.readStates.push({ index: read.index, requestContext: read.requestContext });
  } else {
    raft.send({ type: 'readIndexResp', to: read.from, index: read.index, context: read.requestContext });
  }
}

/**
 * Brings the transferee's log up to date, then tells it to campaign at once.
 * Proposals are refused meanwhile so it can catch up; the tick aborts the
 * transfer after an election timeout.
 */
export function handleTransferLeader(raft: Raft, transferee: NodeId): void {
  if (!raft.tracker.isVoter(transferee) || transferee === raft.id) return;
  if (raft.leadTransferee === transferee) return;
  raft.abortLeaderTransfer();
  raft.electionElapsed = 0;
  raft.leadTransferee = transferee;
  const progress = raft.tracker.progress.get(transferee);
  if (progress?.match === raft.log.lastIndex()) raft.send({ type: 'timeoutNow', to: transferee });
  else sendAppend(raft, transferee);
}
