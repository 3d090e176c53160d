import type { Message } from '../core';
import { FakeNetwork, noMessageFaults } from './fake-network';
import { Prng } from './prng';

function heartbeat(from: string, to: string): Message {
  return { type: 'heartbeat', from, to, term: 1, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, context: '' };
}

function deliverAll(network: FakeNetwork, now: number): string[] {
  const outcomes: string[] = [];
  for (let next = network.takeOne(now); next; next = network.takeOne(now)) {
    outcomes.push(`${next.flight.message.from}→${next.flight.message.to} ${next.outcome}`);
  }
  return outcomes.sort();
}

describe('FakeNetwork', () => {
  it('cuts one link of a partial partition and leaves the others up', () => {
    const network = new FakeNetwork(new Prng(1), noMessageFaults);
    network.cut('a', 'c');
    for (const [from, to] of [['a', 'b'], ['b', 'c'], ['c', 'a']]) network.send(heartbeat(from, to), 0, 1);
    expect(deliverAll(network, 0)).toEqual(['a→b delivered', 'b→c delivered', 'c→a unreachable']);
  });

  it('holds a delayed message back until its time', () => {
    const network = new FakeNetwork(new Prng(2), { dropRate: 0, duplicateRate: 0, maxDelay: 50 });
    for (let n = 0; n < 20; n++) network.send(heartbeat('a', 'b'), 0, 1);
    const early = deliverAll(network, 0).length;
    expect(early).toBeLessThan(20);
    expect(deliverAll(network, 50)).toHaveLength(20 - early);
  });

  it('duplicates and drops at the configured rates', () => {
    const network = new FakeNetwork(new Prng(3), { dropRate: 1, duplicateRate: 1, maxDelay: 0 });
    network.send(heartbeat('a', 'b'), 0, 1);
    expect(deliverAll(network, 0)).toEqual(['a→b lost', 'a→b lost']);
  });

  it('heals every cut link at once', () => {
    const network = new FakeNetwork(new Prng(4), noMessageFaults);
    network.split(['a'], ['b', 'c']);
    network.healAll();
    expect(network.describeCuts()).toEqual([]);
  });
});
