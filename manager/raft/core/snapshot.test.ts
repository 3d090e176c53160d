import { TestNetwork } from './test-network';

describe('a lagging follower caught up by snapshot', () => {
  it('receives the snapshot when the entries it needs were compacted, then follows the log again', () => {
    const network = TestNetwork.withLeader();
    network.isolate('c');
    for (const command of ['x', 'y', 'z']) network.propose('a', command);
    network.compact('a');
    expect(network.peer('a').storage.firstIndex()).toBe(5);

    network.heal();
    network.tickAll(2);
    const snapshots = network.sent.filter((m) => m.type === 'snap');
    expect(snapshots.map((m) => [m.to, m.snapshot?.metadata.index])).toEqual([['c', 4]]);
    expect(network.commands('c')).toEqual(['x', 'y', 'z']);
    expect(network.node('c').status().confState).toEqual({ voters: ['a', 'b', 'c'], learners: [] });

    network.propose('a', 'w');
    expect(network.commands('c')).toEqual(['x', 'y', 'z', 'w']);
    expect(network.logTerms('c')).toEqual([0, 0, 0, 0, 1]);
  });

  it('retries a snapshot the driver reports as failed', () => {
    const network = TestNetwork.withLeader();
    network.isolate('c');
    network.propose('a', 'x');
    network.compact('a');
    network.heal();
    network.filter = (m) => m.type !== 'snap';
    network.tickAll(1);
    network.node('a').reportSnapshot('c', false);
    network.heal();
    network.tickAll(2);
    expect(network.commands('c')).toEqual(['x']);
  });

  it('a follower restarted after installing a snapshot rebuilds its state from it', () => {
    const network = TestNetwork.withLeader();
    network.isolate('c');
    network.propose('a', 'x');
    network.compact('a');
    network.heal();
    network.tickAll(2);
    network.propose('a', 'y');
    network.restart('c');
    network.stabilize();
    expect(network.commands('c')).toEqual(['x', 'y']);
  });
});
