import fc from 'fast-check';
import type { Entry, Message } from '../core/types';
import { coalesceAppends } from './coalesce';

function entry(index: number, term = 2, bytes = 8): Entry {
  return { index, term, type: 'normal', data: new Uint8Array(bytes) };
}

/** The append a leader in term 2 sends after `index` (whose term is `logTerm`). */
function append(index: number, entries: Entry[], commit: number, logTerm = 2): Message {
  return { type: 'app', from: 'a', to: 'b', term: 2, logTerm, index, entries, commit, reject: false, rejectHint: 0, context: '' };
}

function heartbeat(commit: number): Message {
  return { ...append(0, [], commit), type: 'heartbeat', index: 0, logTerm: 0 };
}

describe('coalesceAppends', () => {
  it('merges appends that continue one another into one, carrying the newest commit', () => {
    const merged = coalesceAppends([append(10, [entry(11)], 9), append(11, [entry(12), entry(13)], 10), append(13, [], 12)]);
    expect(merged).toEqual([append(10, [entry(11), entry(12), entry(13)], 12)]);
  });

  it('extends a commit-only append with the entries that follow it', () => {
    expect(coalesceAppends([append(10, [], 10), append(10, [entry(11)], 10)])).toEqual([append(10, [entry(11)], 10)]);
  });

  it('keeps apart appends that do not continue one another, and keeps every other message in place', () => {
    const gap = [append(10, [entry(11)], 9), append(12, [entry(13)], 9)];
    const otherTerm = [append(10, [entry(11, 1)], 9, 1), append(11, [entry(12)], 9, 2)];
    const between = [append(10, [entry(11)], 9), heartbeat(9), append(11, [entry(12)], 9)];
    for (const messages of [gap, otherTerm, between]) expect(coalesceAppends(messages)).toEqual(messages);
  });

  it('stops merging at the byte limit', () => {
    const messages = [append(10, [entry(11, 2, 600)], 9), append(11, [entry(12, 2, 600)], 9), append(12, [entry(13, 2, 600)], 9)];
    expect(coalesceAppends(messages, 1000).map((m) => m.entries.length)).toEqual([1, 1, 1]);
    expect(coalesceAppends(messages, 1200).map((m) => m.entries.length)).toEqual([2, 1]);
  });

  it('delivers the same entries in the same order, each append contiguous, whatever the split', () => {
    const pieces = fc.array(fc.record({ entries: fc.nat(3), heartbeatAfter: fc.boolean() }), { maxLength: 30 });
    fc.assert(
      fc.property(pieces, (split) => {
        const messages: Message[] = [];
        let last = 10;
        for (const [i, piece] of split.entries()) {
          const entries = Array.from({ length: piece.entries }, (_, k) => entry(last + 1 + k));
          messages.push(append(last, entries, 5 + i));
          last += piece.entries;
          if (piece.heartbeatAfter) messages.push(heartbeat(5 + i));
        }
        const merged = coalesceAppends(messages);
        const indexes = (list: Message[]) => list.flatMap((m) => m.entries.map((e) => e.index));
        expect(indexes(merged)).toEqual(indexes(messages));
        expect(merged.filter((m) => m.type === 'heartbeat')).toEqual(messages.filter((m) => m.type === 'heartbeat'));
        for (const m of merged) m.entries.forEach((e, k) => expect(e.index).toBe(m.index + 1 + k));
        expect(Math.max(0, ...merged.map((m) => m.commit))).toBe(Math.max(0, ...messages.map((m) => m.commit)));
      }),
    );
  });
});
