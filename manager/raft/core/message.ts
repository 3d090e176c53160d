import type { Message, MessageType, NodeId } from './types';

/** Vote requests with this context come from a leader transfer and may break a follower's lease. */
export const CAMPAIGN_TRANSFER = 'campaignTransfer';

export type MessageFields = Partial<Message> & { type: MessageType; to: NodeId };

/** A message with every field the caller did not give at its empty value. */
export function newMessage(fields: MessageFields & { from: NodeId; term: number }): Message {
  return {
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    context: '',
    ...fields,
  };
}

/** Messages only a leader sends; a node that receives one in a newer term learns who leads it. */
export function isFromLeader(message: Message): boolean {
  return message.type === 'app' || message.type === 'heartbeat' || message.type === 'snap';
}

export function voteResponseType(type: 'vote' | 'preVote'): 'voteResp' | 'preVoteResp' {
  return type === 'vote' ? 'voteResp' : 'preVoteResp';
}
