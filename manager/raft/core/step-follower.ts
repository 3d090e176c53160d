import type { Raft } from './raft';
import { None } from './types';
import type { Message } from './types';

export function stepFollower(raft: Raft, message: Message): void {
  switch (message.type) {
    case 'app':
    case 'heartbeat':
    case 'snap':
      raft.electionElapsed = 0;
      raft.lead = message.from;
      handleLeaderMessage(raft, message);
      return;
    case 'timeoutNow':
      raft.hup(true);
      return;
    case 'readIndexResp':
      raft.readStates.push({ index: message.index, requestContext: message.context });
      return;
  }
}

/** Pre-candidates and candidates. */
export function stepCandidate(raft: Raft, message: Message): void {
  switch (message.type) {
    case 'app':
    case 'heartbeat':
    case 'snap':
      // A leader of our term exists: we lost this election.
      raft.becomeFollower(message.term, message.from);
      handleLeaderMessage(raft, message);
      return;
    case 'voteResp':
    case 'preVoteResp': {
      const expected = raft.role === 'preCandidate' ? 'preVoteResp' : 'voteResp';
      if (message.type !== expected) return;
      const result = raft.tracker.recordVote(message.from, !message.reject);
      if (result === 'won') raft.winElection();
      else if (result === 'lost') raft.becomeFollower(raft.term, None);
      return;
    }
  }
}

function handleLeaderMessage(raft: Raft, message: Message): void {
  if (message.type === 'app') handleAppend(raft, message);
  else if (message.type === 'heartbeat') handleHeartbeat(raft, message);
  else handleSnapshot(raft, message);
}

function handleAppend(raft: Raft, message: Message): void {
  const { log } = raft;
  if (message.index < log.committed) {
    raft.send({ type: 'appResp', to: message.from, index: log.committed });
    return;
  }
  const lastNewIndex = log.maybeAppend(message.index, message.logTerm, message.commit, message.entries);
  if (lastNewIndex !== undefined) {
    raft.send({ type: 'appResp', to: message.from, index: lastNewIndex });
    return;
  }
  // Tell the leader the last entry that could match, so it skips the rest at once.
  const hint = log.findConflictByTerm(Math.min(message.index, log.lastIndex()), message.logTerm);
  raft.send({
    type: 'appResp',
    to: message.from,
    index: message.index,
    reject: true,
    rejectHint: hint.index,
    logTerm: hint.term,
  });
}

function handleHeartbeat(raft: Raft, message: Message): void {
  raft.log.commitTo(message.commit);
  raft.send({ type: 'heartbeatResp', to: message.from, context: message.context });
}

function handleSnapshot(raft: Raft, message: Message): void {
  if (message.snapshot === undefined) return;
  const index = raft.restore(message.snapshot) ? raft.log.lastIndex() : raft.log.committed;
  raft.send({ type: 'appResp', to: message.from, index });
}
