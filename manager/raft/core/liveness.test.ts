import { TestNetwork } from './test-network';

describe('pre-vote', () => {
  it('a partitioned node that rejoins does not disturb the leader: its term never rises', () => {
    const network = TestNetwork.withLeader();
    network.isolate('c');
    network.tickAll(100);
    expect(network.term('c')).toBe(1);
    expect(network.role('c')).toBe('preCandidate');
    network.propose('a', 'x');
    network.heal();
    network.tickAll(3);
    expect(network.leaders()).toEqual(['a']);
    for (const id of ['a', 'b', 'c']) expect(network.term(id)).toBe(1);
    expect(network.commands('c')).toEqual(['x']);
  });

  it('without pre-vote the rejoining node forces a new term (the disruption pre-vote prevents)', () => {
    const network = TestNetwork.withLeader(['a', 'b', 'c'], { preVote: false, checkQuorum: false });
    network.isolate('c');
    network.tickAll(30);
    expect(network.term('c')).toBeGreaterThan(1);
    network.heal();
    network.tickAll(30);
    expect(network.term('a')).toBeGreaterThan(1);
  });

  it('a pre-vote that wins starts a real election in the next term', () => {
    const network = TestNetwork.cluster(['a', 'b', 'c']);
    network.campaign('b');
    expect(network.leaders()).toEqual(['b']);
    expect(network.term('b')).toBe(1);
    const kinds = network.sent.filter((m) => m.from === 'b').map((m) => m.type);
    expect(kinds.indexOf('preVote')).toBeLessThan(kinds.indexOf('vote'));
  });
});

describe('check-quorum', () => {
  it('a leader that stops hearing from a quorum steps down within an election timeout', () => {
    const network = TestNetwork.withLeader();
    network.isolate('a');
    network.tick('a', 20);
    expect(network.role('a')).toBe('follower');
    expect(() => network.propose('a', 'x')).toThrow('not the leader');
  });

  it('the majority side elects a new leader and the old leader follows it after healing', () => {
    const network = TestNetwork.withLeader();
    network.isolate('a');
    network.tickAll(50);
    const [newLeader] = network.leaders();
    expect(['b', 'c']).toContain(newLeader);
    network.heal();
    network.propose(newLeader as string, 'x');
    network.tickAll(2);
    expect(network.leaders()).toEqual([newLeader]);
    expect(network.commands('a')).toEqual(['x']);
  });

  it('followers in a lease ignore vote requests from a node that campaigns while the leader is healthy', () => {
    const network = TestNetwork.withLeader(['a', 'b', 'c'], { preVote: false });
    network.campaign('c');
    expect(network.term('c')).toBe(2);
    expect(network.term('b')).toBe(1);
    expect(network.sent.filter((m) => m.type === 'voteResp' && m.to === 'c')).toEqual([]);
  });
});

describe('partial partition (A–B and B–C up, A–C down)', () => {
  it('causes no leader churn', () => {
    const network = TestNetwork.withLeader();
    network.cut('a', 'c');
    network.tickAll(200);
    expect(network.leaders()).toEqual(['a']);
    for (const id of ['a', 'b', 'c']) expect(network.term(id)).toBe(1);
    network.propose('a', 'x');
    expect(network.commands('b')).toEqual(['x']);
  });

  it('causes no churn when the cut-off node is asked to campaign either', () => {
    const network = TestNetwork.withLeader();
    network.cut('a', 'c');
    network.campaign('c');
    network.tickAll(50);
    expect(network.leaders()).toEqual(['a']);
    expect(network.term('c')).toBe(1);
  });
});
