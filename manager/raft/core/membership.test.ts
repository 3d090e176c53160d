import { MemoryStorage } from './memory-storage';
import { TestNetwork } from './test-network';
import { ProposalDroppedError } from './types';
import type { ConfChange } from './types';

function change(type: ConfChange['type'], nodeId: string): ConfChange {
  return { type, nodeId, context: `${nodeId}.example:4000` };
}

function proposeChange(network: TestNetwork, leader: string, conf: ConfChange): void {
  network.node(leader).proposeConfChange(conf);
  network.stabilize();
}

describe('membership changes', () => {
  it('a bootstrapped cluster elects a leader once its founders applied the founding entries', () => {
    const network = TestNetwork.bootstrapped(['a', 'b', 'c']);
    expect(network.node('b').status().confState).toEqual({ voters: ['a', 'b', 'c'], learners: [] });
    network.campaign('a');
    expect(network.leaders()).toEqual(['a']);
  });

  it('a node with an empty storage never campaigns: it knows no membership', () => {
    const network = TestNetwork.bootstrapped(['a']);
    network.addPeer('d', new MemoryStorage());
    network.tick('d', 100);
    expect(network.role('d')).toBe('follower');
  });

  it('adds a learner that receives the whole log but never campaigns, then promotes it to voter', () => {
    const network = TestNetwork.bootstrapped(['a', 'b', 'c']);
    network.campaign('a');
    network.propose('a', 'x');
    network.addPeer('d', new MemoryStorage());
    proposeChange(network, 'a', change('addLearner', 'd'));
    network.tickAll(2);
    expect(network.commands('d')).toEqual(['x']);
    expect(network.node('d').status().confState).toEqual({ voters: ['a', 'b', 'c'], learners: ['d'] });

    network.isolate('d');
    network.tick('d', 100);
    expect(network.role('d')).toBe('follower');
    expect(network.sent.filter((m) => m.from === 'd' && (m.type === 'vote' || m.type === 'preVote'))).toEqual([]);

    network.heal();
    proposeChange(network, 'a', change('addVoter', 'd'));
    network.tickAll(2);
    for (const id of ['a', 'b', 'c', 'd']) {
      expect(network.node(id).status().confState).toEqual({ voters: ['a', 'b', 'c', 'd'], learners: [] });
    }
    // Four voters: a quorum is three, so a and d alone cannot commit.
    network.cut('a', 'b');
    network.cut('a', 'c');
    network.node('a').propose(new TextEncoder().encode('y'));
    network.stabilize();
    expect(network.commands('a')).toEqual(['x']);
  });

  it("a learner's vote does not count towards a quorum", () => {
    const network = TestNetwork.cluster(['a', 'b'], {}, ['c']);
    network.isolate('b');
    network.campaign('a');
    expect(network.role('a')).not.toBe('leader');
    expect(network.role('c')).toBe('follower');
  });

  it('accepts one membership change at a time: a second waits until the first is applied', () => {
    const network = TestNetwork.withLeader();
    network.isolate('b');
    network.isolate('c');
    network.node('a').proposeConfChange(change('addLearner', 'd'));
    network.stabilize();
    expect(() => network.node('a').proposeConfChange(change('addLearner', 'e'))).toThrow(ProposalDroppedError);
    network.heal();
    network.tickAll(2);
    expect(network.node('a').status().confState.learners).toEqual(['d']);
    expect(() => network.node('a').proposeConfChange(change('addLearner', 'e'))).not.toThrow();
  });

  it('refuses to remove the last voter', () => {
    const network = TestNetwork.cluster(['a']);
    network.campaign('a');
    expect(() => network.node('a').proposeConfChange(change('removeNode', 'a'))).toThrow('last voter');
  });

  it('removing a follower shrinks the quorum', () => {
    const network = TestNetwork.withLeader();
    proposeChange(network, 'a', change('removeNode', 'c'));
    network.tickAll(2);
    network.remove('c');
    expect(network.node('a').status().confState.voters).toEqual(['a', 'b']);
    network.propose('a', 'x');
    expect(network.commands('b')).toEqual(['x']);
  });

  it('a removed leader steps down once the change is applied, never campaigns, and the rest elect a leader', () => {
    const network = TestNetwork.withLeader();
    const sentBefore = network.sent.length;
    proposeChange(network, 'a', change('removeNode', 'a'));
    expect(network.role('a')).toBe('follower');
    expect(network.node('b').status().confState.voters).toEqual(['b', 'c']);
    network.tickAll(40);
    const [leader] = network.leaders();
    expect(['b', 'c']).toContain(leader);
    const votesAsked = network.sent
      .slice(sentBefore)
      .filter((m) => m.from === 'a' && (m.type === 'vote' || m.type === 'preVote'));
    expect(votesAsked).toEqual([]);
    network.propose(leader as string, 'x');
    expect(network.commands(leader === 'b' ? 'c' : 'b')).toEqual(['x']);
  });
});
