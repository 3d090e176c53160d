import { Endpoint, Node, NodeStatus } from '../../proto/gen/trellis/v1/types';
import { endpointReadiness } from './readiness';

function node(name: string, status: NodeStatus, programmed: Record<string, number>): Node {
  return Node.fromPartial({ id: `${name}-id`, name, status, programmedNetworks: programmed });
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
});
