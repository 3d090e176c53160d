import { TestNetwork } from './test-network';
import { ProposalDroppedError } from './types';

describe('leader transfer', () => {
  it('hands leadership to an up-to-date follower at once, in the next term', () => {
    const network = TestNetwork.withLeader();
    network.node('a').transferLeadership('b');
    network.stabilize();
    expect(network.leaders()).toEqual(['b']);
    expect(network.term('b')).toBe(2);
    network.propose('b', 'x');
    expect(network.commands('a')).toEqual(['x']);
  });

  it('catches a lagging transferee up first, refusing proposals meanwhile', () => {
    const network = TestNetwork.withLeader();
    network.isolate('c');
    network.propose('a', 'x');
    network.propose('a', 'y');
    network.heal();
    // Hold c's answers so the transfer stays under way.
    network.filter = (m) => m.from !== 'c';
    network.node('a').transferLeadership('c');
    network.stabilize();
    expect(network.leaders()).toEqual(['a']);
    expect(() => network.node('a').propose(new TextEncoder().encode('z'))).toThrow(ProposalDroppedError);

    network.heal();
    network.tickAll(1);
    expect(network.leaders()).toEqual(['c']);
    expect(network.commands('c')).toEqual(['x', 'y']);
  });

  it('can be asked of a follower, which forwards the request to the leader', () => {
    const network = TestNetwork.withLeader();
    network.node('b').transferLeadership('c');
    network.stabilize();
    expect(network.leaders()).toEqual(['c']);
  });

  it('is abandoned after an election timeout when the transferee does not answer', () => {
    const network = TestNetwork.withLeader(['a', 'b', 'c', 'd', 'e']);
    network.isolate('e');
    network.node('a').transferLeadership('e');
    network.stabilize();
    expect(() => network.node('a').propose(new TextEncoder().encode('x'))).toThrow(ProposalDroppedError);
    network.tickAll(10);
    expect(network.leaders()).toEqual(['a']);
    network.propose('a', 'x');
    expect(network.commands('b')).toEqual(['x']);
  });

  it('ignores a transfer to a learner or to an unknown node', () => {
    const network = TestNetwork.cluster(['a', 'b', 'c'], {}, ['d']);
    network.campaign('a');
    network.node('a').transferLeadership('d');
    network.node('a').transferLeadership('zz');
    network.stabilize();
    expect(network.leaders()).toEqual(['a']);
    expect(() => network.propose('a', 'x')).not.toThrow();
  });
});
