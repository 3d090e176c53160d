import type { Message } from '../core/types';

/** A merged append carries at most this much entry data (the core's own per-message limit is 1 MiB). */
export const maxCoalescedBytes = 1024 * 1024;

/**
 * Merges each run of appends to one peer that continue one another into one
 * append: the leader's core sends an append per proposal and another per commit
 * advance, and each costs an encode, a stream write, a decode, a step and an
 * answer. An append whose entries start right after the previous one's (same
 * term, same sender) is that previous append extended, and the follower answers
 * the merged append as it would have answered the last of the run; the newest
 * commit index rides along. Any other message ends a run, so order is kept.
 * Messages must all be addressed to one peer.
 */
export function coalesceAppends(messages: readonly Message[], maxBytes = maxCoalescedBytes): Message[] {
  const out: Message[] = [];
  let runBytes = 0;
  for (const message of messages) {
    const previous = out[out.length - 1];
    const bytes = entryBytes(message);
    if (previous !== undefined && continues(previous, message) && runBytes + bytes <= maxBytes) {
      out[out.length - 1] = { ...previous, entries: [...previous.entries, ...message.entries], commit: Math.max(previous.commit, message.commit) };
      runBytes += bytes;
    } else {
      out.push(message);
      runBytes = bytes;
    }
  }
  return out;
}

function continues(previous: Message, next: Message): boolean {
  if (previous.type !== 'app' || next.type !== 'app') return false;
  if (previous.from !== next.from || previous.to !== next.to || previous.term !== next.term) return false;
  const last = previous.entries[previous.entries.length - 1];
  const lastIndex = last?.index ?? previous.index;
  const lastTerm = last?.term ?? previous.logTerm;
  return next.index === lastIndex && next.logTerm === lastTerm;
}

function entryBytes(message: Message): number {
  let bytes = 0;
  for (const entry of message.entries) bytes += entry.data.length;
  return bytes;
}
