import { TestNetwork } from './test-network';
import { newMessage } from './message';
import type { MessageFields } from './message';
import type { Entry, Message } from './types';

function fromLeader(fields: Omit<MessageFields, 'to'>): Message {
  return newMessage({ from: 'a', to: 'b', term: 1, ...fields });
}

describe('RawNode Ready handling', () => {
  it('carries a hard state only when it changed, and asks for a sync only for term, vote or entries', () => {
    const network = TestNetwork.withLeader();
    const follower = network.node('b');
    expect(follower.hasReady()).toBe(false);

    const entry: Entry = { term: 1, index: 2, type: 'normal', data: new TextEncoder().encode('x') };
    follower.step(fromLeader({ type: 'app', index: 1, logTerm: 1, entries: [entry], commit: 1 }));
    const withEntry = follower.ready();
    expect(withEntry.hardState).toBeUndefined();
    expect(withEntry.entries).toEqual([entry]);
    expect(withEntry.mustSync).toBe(true);
    network.peer('b').storage.append(withEntry.entries);
    follower.advance();

    follower.step(fromLeader({ type: 'heartbeat', commit: 2 }));
    const commitOnly = follower.ready();
    expect(commitOnly.hardState).toEqual({ term: 1, vote: 'a', commit: 2 });
    expect(commitOnly.mustSync).toBe(false);
    expect(commitOnly.committedEntries).toEqual([entry]);
  });

  it('hands out one Ready at a time', () => {
    const network = TestNetwork.cluster(['a', 'b', 'c']);
    const node = network.node('a');
    node.campaign();
    node.ready();
    expect(node.hasReady()).toBe(false);
    expect(() => node.ready()).toThrow('advance');
  });

  it('reports its role and leader changes as soft state', () => {
    const network = TestNetwork.cluster(['a']);
    const node = network.node('a');
    node.campaign();
    expect(node.ready().softState).toEqual({ leader: 'a', role: 'leader' });
  });
});
