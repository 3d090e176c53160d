import { TestNetwork } from './test-network';

describe('ReadIndex', () => {
  it('the leader answers with its commit index once a quorum acknowledged a heartbeat round', () => {
    const network = TestNetwork.withLeader();
    network.propose('a', 'x');
    network.node('a').readIndex('r1');
    network.stabilize();
    expect(network.peer('a').readStates).toEqual([{ index: 2, requestContext: 'r1' }]);
    const round = network.sent.filter((m) => m.type === 'heartbeat' && m.context === 'r1');
    expect(round.map((m) => m.to)).toEqual(['b', 'c']);
  });

  it('a leader cut off from its quorum does not answer', () => {
    const network = TestNetwork.withLeader();
    network.isolate('a');
    network.node('a').readIndex('r1');
    network.stabilize();
    expect(network.peer('a').readStates).toEqual([]);
  });

  it('one acknowledged round answers every read queued before it', () => {
    const network = TestNetwork.withLeader();
    network.filter = (m) => m.type !== 'heartbeatResp';
    network.node('a').readIndex('r1');
    network.node('a').readIndex('r2');
    network.stabilize();
    network.heal();
    network.tick('a');
    expect(network.peer('a').readStates.map((read) => read.requestContext)).toEqual(['r1', 'r2']);
  });

  it('a follower forwards the request and receives the leader’s read index', () => {
    const network = TestNetwork.withLeader();
    network.propose('a', 'x');
    network.node('b').readIndex('from-b');
    network.stabilize();
    expect(network.peer('b').readStates).toEqual([{ index: 2, requestContext: 'from-b' }]);
    expect(network.peer('a').readStates).toEqual([]);
  });

  it('a new leader does not serve reads until it has committed an entry of its own term', () => {
    const network = TestNetwork.cluster(['a', 'b', 'c']);
    // Votes get through; the leader's no-op is not acknowledged.
    network.filter = (m) => m.type !== 'appResp';
    network.campaign('a');
    expect(network.role('a')).toBe('leader');
    network.node('a').readIndex('early');
    network.tickAll(3);
    expect(network.commit('a')).toBe(0);
    expect(network.peer('a').readStates).toEqual([]);

    network.filter = () => true;
    network.tickAll(2);
    expect(network.peer('a').readStates).toEqual([{ index: 1, requestContext: 'early' }]);
  });

  it('a single voter answers at once', () => {
    const network = TestNetwork.cluster(['a']);
    network.campaign('a');
    network.node('a').readIndex('solo');
    network.stabilize();
    expect(network.peer('a').readStates).toEqual([{ index: 1, requestContext: 'solo' }]);
  });
});
