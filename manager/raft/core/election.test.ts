import { MemoryStorage } from './memory-storage';
import { newMessage as message } from './message';
import { RawNode } from './rawnode';
import { TestNetwork, storageWithLog } from './test-network';
import type { RaftConfig } from './types';

const threeVoters = { voters: ['a', 'b', 'c'], learners: [] };

function soloConfig(storage: MemoryStorage, overrides: Partial<RaftConfig> = {}): RaftConfig {
  return {
    id: 'a',
    electionTick: 10,
    heartbeatTick: 1,
    storage,
    applied: 0,
    maxSizePerMessage: Infinity,
    maxInflightMessages: 16,
    preVote: false,
    checkQuorum: false,
    random: () => 0,
    ...overrides,
  };
}

describe('leader election (§5.2)', () => {
  it('a single voter elects itself on its first election timeout and commits once its entries are persisted', () => {
    const network = TestNetwork.cluster(['a']);
    network.tick('a', 20);
    expect(network.role('a')).toBe('leader');
    network.propose('a', 'x');
    expect(network.commands('a')).toEqual(['x']);
    expect(network.commit('a')).toBe(2);
  });

  it('a single voter does not hand out committed entries before they are persisted', () => {
    const storage = new MemoryStorage({ voters: ['a'], learners: [] });
    const node = new RawNode(soloConfig(storage));
    node.campaign();
    const first = node.ready();
    expect(first.entries).toHaveLength(1);
    expect(first.committedEntries).toEqual([]);
    storage.append(first.entries);
    node.advance();
    const second = node.ready();
    expect(second.hardState?.commit).toBe(1);
    expect(second.committedEntries.map((entry) => entry.index)).toEqual([1]);
  });

  it('elects the candidate that gets a majority, and every node learns the leader and term', () => {
    const network = TestNetwork.withLeader();
    expect(network.leaders()).toEqual(['a']);
    for (const id of ['a', 'b', 'c']) {
      expect(network.term(id)).toBe(1);
      expect(network.node(id).status().softState.leader).toBe('a');
      expect(network.commit(id)).toBe(1);
    }
  });

  it('a candidate without a majority does not become leader', () => {
    const network = TestNetwork.cluster(['a', 'b', 'c', 'd', 'e'], { preVote: false });
    network.cut('a', 'b');
    network.cut('a', 'c');
    network.cut('a', 'd');
    network.campaign('a');
    expect(network.role('a')).toBe('candidate');
  });

  it('grants one vote per term: a second candidate in the same term is refused', () => {
    const node = new RawNode(soloConfig(new MemoryStorage(threeVoters)));
    node.step(message({ type: 'vote', from: 'b', to: 'a', term: 1 }));
    node.step(message({ type: 'vote', from: 'c', to: 'a', term: 1 }));
    node.step(message({ type: 'vote', from: 'b', to: 'a', term: 1 }));
    const answers = node.ready().messages.map((m) => [m.to, m.type, m.reject]);
    expect(answers).toEqual([
      ['b', 'voteResp', false],
      ['c', 'voteResp', true],
      ['b', 'voteResp', false],
    ]);
  });

  it('a higher term wins: a leader that sees a higher term steps down and adopts it', () => {
    const network = TestNetwork.withLeader(['a', 'b', 'c'], { preVote: false, checkQuorum: false });
    network.campaign('b');
    expect(network.leaders()).toEqual(['b']);
    expect(network.term('a')).toBe(2);
    expect(network.role('a')).toBe('follower');
  });

  it('a candidate whose log is behind loses: voters refuse a stale log (§5.4.1)', () => {
    const network = new TestNetwork({ preVote: false });
    network.addPeer('a', storageWithLog(threeVoters, [1], { term: 1, vote: '', commit: 0 }));
    network.addPeer('b', storageWithLog(threeVoters, [1, 1], { term: 1, vote: '', commit: 0 }));
    network.addPeer('c', storageWithLog(threeVoters, [1, 1], { term: 1, vote: '', commit: 0 }));
    network.campaign('a');
    expect(network.role('a')).not.toBe('leader');
    const refusals = network.sent.filter((m) => m.type === 'voteResp' && m.to === 'a');
    expect(refusals.map((m) => m.reject)).toEqual([true, true]);
    network.campaign('b');
    expect(network.leaders()).toEqual(['b']);
  });

  it('randomizes election timeouts within [electionTick, 2·electionTick)', () => {
    const draws = [0, 0.999];
    for (const draw of draws) {
      const node = new RawNode(soloConfig(new MemoryStorage({ voters: ['a'], learners: [] }), { random: () => draw }));
      let ticks = 0;
      while (node.status().softState.role !== 'leader') {
        node.tick();
        ticks++;
      }
      expect(ticks).toBe(10 + Math.floor(draw * 10));
    }
  });
});

describe('restart', () => {
  it('a node rebuilt from its storage keeps its vote: no second vote in the same term', () => {
    const network = TestNetwork.cluster(['a', 'b', 'c'], { preVote: false });
    network.isolate('c');
    network.node('b').step(message({ type: 'vote', from: 'a', to: 'b', term: 5, index: 0, logTerm: 0 }));
    network.handleReadyOf('b');
    const restarted = network.restart('b').node;
    expect(restarted.status().hardState).toMatchObject({ term: 5, vote: 'a' });
    restarted.step(message({ type: 'vote', from: 'c', to: 'b', term: 5 }));
    const answer = restarted.ready().messages.find((m) => m.type === 'voteResp');
    expect(answer).toMatchObject({ to: 'c', reject: true });
  });

  it('a restarted node replays its committed log into a fresh state machine', () => {
    const network = TestNetwork.withLeader();
    network.propose('a', 'x');
    network.propose('a', 'y');
    network.restart('b');
    network.stabilize();
    network.tickAll(3);
    expect(network.commands('b')).toEqual(['x', 'y']);
  });
});
