import { Endpoint, Node, NodeStatus } from '../../proto/gen/trellis/v1/types';
import { endpointReadiness, readyOnNetwork } from './readiness';

function node(name: string, status: NodeStatus, programmed: Record<string, number>, unprogrammedEndpointIds: string[] = []): Node {
  return Node.fromPartial({ id: `${name}-id`, name, status, programmedNetworks: programmed, unprogrammedEndpointIds });
}

const endpoint = Endpoint.fromPartial({ id: 'ep', networkId: 'blue', node: 'a', createdRevision: 10 });
const hosts = () => ['a', 'b', 'c'];
const { NODE_STATUS_READY: READY, NODE_STATUS_DOWN: DOWN } = NodeStatus;

describe('endpointReadiness', () => {
  it('is ready once every live host of the network has programmed the endpoint', () => {
    const nodes = [node('a', READY, { blue: 10 }), node('b', READY, { blue: 12 }), node('c', READY, { blue: 9 })];
    expect(endpointReadiness(nodes, hosts)(endpoint)).toBe(false);
    nodes[2] = node('c', READY, { blue: 10 });
    expect(endpointReadiness(nodes, hosts)(endpoint)).toBe(true);
  });

  it('does not wait for a host that is down', () => {
    const nodes = [node('a', READY, { blue: 10 }), node('b', READY, { blue: 10 }), node('c', DOWN, { blue: 3 })];
    expect(endpointReadiness(nodes, hosts)(endpoint)).toBe(true);
  });

  it('is never ready while its own node is down or has not programmed it', () => {
    expect(endpointReadiness([node('a', DOWN, { blue: 10 }), node('b', READY, { blue: 10 })], hosts)(endpoint)).toBe(false);
    expect(endpointReadiness([node('a', READY, { green: 10 }), node('b', READY, { blue: 10 })], hosts)(endpoint)).toBe(false);
  });

  it('does not wait for a live host that has not reported the network at all (it is joining it)', () => {
    const nodes = [node('a', READY, { blue: 10 }), node('b', READY, { blue: 10 }), node('c', READY, { red: 30 })];
    expect(endpointReadiness(nodes, hosts)(endpoint)).toBe(true);
  });

  it('is not ready while a live host of its network, or its own node, reports it unprogrammed; a down host is not waited for', () => {
    const programmed = { blue: 10 };
    const isReady = (nodes: Node[]) => endpointReadiness(nodes, hosts)(endpoint);
    expect(isReady([node('a', READY, programmed), node('b', READY, programmed, ['ep']), node('c', READY, programmed)])).toBe(false);
    expect(isReady([node('a', READY, programmed, ['ep']), node('b', READY, programmed), node('c', READY, programmed)])).toBe(false);
    expect(isReady([node('a', READY, programmed), node('b', DOWN, programmed, ['ep']), node('c', READY, programmed, ['other'])])).toBe(true);
  });
});

describe('readyOnNetwork', () => {
  it('reads each host once for a whole network: the down host\'s own endpoints are not ready, the others are', () => {
    const programming = new Map([
      ['a', { live: true, networks: { blue: 7 }, unprogrammed: new Set<string>() }],
      ['b', { live: false, networks: { blue: 1 }, unprogrammed: new Set(['ep-a2']) }],
      ['c', { live: true, networks: { blue: 9 }, unprogrammed: new Set(['ep-c1']) }],
    ]);
    const endpoints = [
      { id: 'ep-a1', host: 'a', createdRevision: 5 },
      { id: 'ep-a2', host: 'a', createdRevision: 7 },
      { id: 'ep-a3', host: 'a', createdRevision: 8 },
      { id: 'ep-b1', host: 'b', createdRevision: 1 },
      { id: 'ep-c1', host: 'c', createdRevision: 2 },
    ];
    const ready = readyOnNetwork('blue', endpoints, ['a', 'b', 'c'], (host) => programming.get(host));
    // ep-a3 is newer than what a programmed; ep-b1's node is down; c could not program ep-c1.
    expect([...ready].sort()).toEqual(['ep-a1', 'ep-a2']);
  });

  it('between gossiping hosts, counts what each programmed of the owner (the floor) instead of its network revision; a host that does not gossip still counts by revision', () => {
    const host = (networks: Record<string, number>, gossips: boolean) => ({ live: true, networks, unprogrammed: new Set<string>(), gossips });
    // x and m gossip and have programmed blue at revisions that say nothing of each other's endpoints; p does not gossip.
    const programming = new Map([
      ['x', host({ blue: 9 }, true)],
      ['m', host({ blue: 3 }, true)],
      ['p', host({ blue: 8 }, false)],
    ]);
    const endpoints = [
      { id: 'ep-x1', host: 'x', createdRevision: 5 },
      { id: 'ep-x2', host: 'x', createdRevision: 7 },
      { id: 'ep-x3', host: 'x', createdRevision: 9 },
      { id: 'ep-p1', host: 'p', createdRevision: 6 },
    ];
    const asked: string[][] = [];
    // m has programmed x's set as of revision 7 (which holds ep-x1 and ep-x2).
    const floor = (owner: string, members: readonly string[]): number => {
      asked.push([owner, ...members]);
      return owner === 'x' ? 7 : 0;
    };
    const ready = readyOnNetwork('blue', endpoints, ['x', 'm', 'p'], (name) => programming.get(name), floor);
    // ep-x3 is past m's floor (and p's revision); ep-p1 waits for m's revision, which is older.
    expect([...ready].sort()).toEqual(['ep-x1', 'ep-x2']);
    expect(asked).toEqual([['x', 'x', 'm']]);
    // Without a floor (the API, from nodes as listed), the gossiping hosts' unprogrammed lists say it.
    expect([...readyOnNetwork('blue', endpoints, ['x', 'm', 'p'], (name) => programming.get(name))].sort()).toEqual(['ep-x1', 'ep-x2']);
  });
});
