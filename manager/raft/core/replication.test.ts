import { TestNetwork, storageWithLog } from './test-network';
import type { ConfState, Message } from './types';

const fiveVoters: ConfState = { voters: ['a', 'b', 'c', 'd', 'e'], learners: [] };
const threeVoters: ConfState = { voters: ['a', 'b', 'c'], learners: [] };

describe('log replication (§5.3)', () => {
  it('replicates a proposal to every follower and applies it everywhere once committed', () => {
    const network = TestNetwork.withLeader();
    network.propose('a', 'x');
    for (const id of ['a', 'b', 'c']) {
      expect(network.commands(id)).toEqual(['x']);
      expect(network.logTerms(id)).toEqual([1, 1]);
    }
  });

  it('commits with a majority even when one follower is unreachable, and catches it up later', () => {
    const network = TestNetwork.withLeader();
    network.isolate('c');
    network.propose('a', 'x');
    expect(network.commands('a')).toEqual(['x']);
    expect(network.commands('c')).toEqual([]);
    network.heal();
    network.tickAll(2);
    expect(network.commands('c')).toEqual(['x']);
  });

  it("overwrites a follower's conflicting suffix, finding the match point in one rejection", () => {
    const network = new TestNetwork({ preVote: false });
    network.addPeer('a', storageWithLog(threeVoters, [1, 1, 1, 4, 4, 4, 4], { term: 4, vote: 'a', commit: 3 }));
    const divergent = [1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3];
    network.addPeer('b', storageWithLog(threeVoters, divergent, { term: 3, vote: '', commit: 3 }));
    network.addPeer('c', storageWithLog(threeVoters, [1, 1, 1, 4, 4, 4, 4], { term: 4, vote: 'a', commit: 3 }));
    network.campaign('a');
    expect(network.leaders()).toEqual(['a']);

    const expected = [1, 1, 1, 4, 4, 4, 4, 5];
    expect(network.logTerms('b')).toEqual(expected);
    expect(network.logTerms('c')).toEqual(expected);
    const rejections = network.sent.filter((m) => m.type === 'appResp' && m.from === 'b' && m.reject);
    expect(rejections).toHaveLength(1);
    // Uncommitted entries of the lost terms were never applied anywhere.
    expect(network.commands('b')).toEqual(['t1i1', 't1i2', 't1i3', 't4i4', 't4i5', 't4i6', 't4i7']);
  });

  it('streams at most maxInflightMessages appends to a follower before hearing back', () => {
    const network = TestNetwork.withLeader(['a', 'b', 'c'], { maxInflightMessages: 2, maxSizePerMessage: 0 });
    network.isolate('b');
    network.isolate('c');
    network.heal();
    // Hold b's acknowledgements: the leader may not run ahead of the window.
    network.filter = (m) => !(m.from === 'b' && m.type === 'appResp');
    const sentBefore = network.sent.length;
    for (const command of ['w', 'x', 'y', 'z']) network.node('a').propose(new TextEncoder().encode(command));
    network.stabilize();
    const appendsToB = network.sent
      .slice(sentBefore)
      .filter((m) => m.type === 'app' && m.to === 'b' && m.entries.length > 0);
    expect(appendsToB.length).toBe(2);
  });

  it('moves a replicating follower reported unreachable back to probing', () => {
    const network = TestNetwork.withLeader();
    network.isolate('b');
    network.node('a').reportUnreachable('b');
    const sentBefore = network.sent.length;
    network.propose('a', 'x');
    network.propose('a', 'y');
    // Probing: one append at a time while b does not answer.
    const appendsToB = network.sent
      .slice(sentBefore)
      .filter((m) => m.type === 'app' && m.to === 'b' && m.entries.length > 0);
    expect(appendsToB).toHaveLength(1);
    network.heal();
    network.tickAll(2);
    expect(network.commands('b')).toEqual(['x', 'y']);
  });
});

describe('commitment (§5.4.2, Figure 8)', () => {
  /**
   * Figure 8's (b): a was leader of term 2 and replicated index 2 to nobody
   * yet; e was leader of term 3 and wrote a different index 2; c and d voted
   * for e. Now a leads term 4 while e is down.
   */
  function figure8(): TestNetwork {
    // One entry per append, so a follower can be given index 2 without index 3.
    const network = new TestNetwork({ preVote: false, checkQuorum: false, maxSizePerMessage: 0 });
    network.addPeer('a', storageWithLog(fiveVoters, [1, 2], { term: 3, vote: '', commit: 1 }));
    network.addPeer('b', storageWithLog(fiveVoters, [1], { term: 2, vote: 'a', commit: 1 }));
    network.addPeer('c', storageWithLog(fiveVoters, [1], { term: 3, vote: 'e', commit: 1 }));
    network.addPeer('d', storageWithLog(fiveVoters, [1], { term: 3, vote: 'e', commit: 1 }));
    network.addPeer('e', storageWithLog(fiveVoters, [1, 3], { term: 3, vote: 'e', commit: 1 }));
    network.isolate('e');
    // a's own no-op (index 3) reaches nobody that already holds index 2.
    const givesIndex3ToHolderOf2 = (m: Message): boolean =>
      m.type === 'app' && m.entries.some((entry) => entry.index === 3) && network.peer(m.to).storage.lastIndex() >= 2;
    network.filter = (m) => !(m.from === 'a' && givesIndex3ToHolderOf2(m));
    network.campaign('a');
    return network;
  }

  it('a leader does not commit an entry of an earlier term although a majority holds it', () => {
    const network = figure8();
    expect(network.leaders()).toEqual(['a']);
    expect(network.term('a')).toBe(4);
    for (const id of ['a', 'b', 'c', 'd']) expect(network.logTerms(id).slice(0, 2)).toEqual([1, 2]);
    network.tickAll(5);
    expect(network.commit('a')).toBe(1);
    expect(network.commands('a')).toEqual(['t1i1']);
  });

  it('(d) so a later leader may overwrite it, and nobody ever applied it', () => {
    const network = figure8();
    network.heal();
    network.isolate('a');
    network.campaign('e'); // term 4 is taken; e learns it from the refusals
    network.campaign('e');
    expect(network.role('e')).toBe('leader');
    expect(network.term('e')).toBe(5);
    network.heal();
    network.tickAll(3);
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      expect(network.logTerms(id)).toEqual([1, 3, 5]);
      expect(network.commands(id)).toEqual(['t1i1', 't3i2']);
    }
  });

  it('(e) committing an entry of its own term commits the earlier entry with it, and e cannot win', () => {
    const network = figure8();
    network.filter = () => true;
    network.tickAll(2);
    expect(network.commit('a')).toBe(3);
    network.heal();
    network.isolate('a');
    network.campaign('e');
    network.campaign('e');
    expect(network.role('e')).not.toBe('leader');
    for (const id of ['b', 'c', 'd']) expect(network.commands(id)).toEqual(['t1i1', 't2i2']);
  });
});

describe('leader completeness (§5.4)', () => {
  it('every later leader holds every committed entry', () => {
    const network = TestNetwork.withLeader(['a', 'b', 'c', 'd', 'e']);
    network.cut('a', 'd');
    network.cut('a', 'e');
    network.propose('a', 'x');
    expect(network.commands('a')).toEqual(['x']);
    network.heal();
    network.isolate('a');
    // d and e lack x: b and c refuse them, so only b or c can win.
    network.tickAll(40);
    const [leader] = network.leaders();
    expect(leader).toBeDefined();
    expect(['b', 'c']).toContain(leader);
    expect(network.commands(leader as string)).toEqual(['x']);
    const grantsToLaggards = network.sent.filter(
      (m) => m.type === 'voteResp' && !m.reject && (m.to === 'd' || m.to === 'e') && (m.from === 'b' || m.from === 'c'),
    );
    expect(grantsToLaggards).toEqual([]);
  });
});
