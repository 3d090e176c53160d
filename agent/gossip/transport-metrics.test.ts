import { peersPerTopic } from './transport-metrics';

describe('gossip peers per topic', () => {
  it("counts, for each network, its members that have a link now (one link serves every network two nodes share)", () => {
    const linked = new Set(['node-b', 'node-c']);
    const members = new Map([
      ['network-1', ['node-a', 'node-b', 'node-c']],
      ['network-2', ['node-a', 'node-c', 'node-d']],
      ['network-3', ['node-d']],
    ]);
    expect(Object.fromEntries(peersPerTopic(linked, members))).toEqual({ 'network-1': 2, 'network-2': 1, 'network-3': 0 });
  });
});
