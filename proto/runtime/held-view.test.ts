import { EndpointView, NodeView, ServiceView, ViewDelta } from '../gen/trellis/v1/dispatcher';
import { HeldView } from './held-view';

const endpoint = (id: string, networkId = 'blue'): EndpointView => EndpointView.fromPartial({ id, networkId, serviceId: 'web' });
const service = (id: string, revision: number): ServiceView => ServiceView.fromPartial({ id, name: id, endpointMode: 'vip', revision });

function heldWith(endpoints: EndpointView[], services: ServiceView[] = []): HeldView {
  const held = new HeldView();
  const view = NodeView.fromPartial({ revision: 5, nodeId: 'n1', networks: [{ id: 'blue' }, { id: 'red' }], endpoints, services });
  held.applyChunk({ part: view, first: true, last: true });
  return held;
}

const delta = (fields: Partial<ViewDelta>): ViewDelta => ViewDelta.fromPartial({ fromRevision: 5, revision: 6, networkIds: ['blue', 'red'], ...fields });

describe('HeldView services', () => {
  it('adds, changes and removes services as deltas say, and a resync replaces them', () => {
    const held = heldWith([], [service('web', 3), service('db', 4)]);
    const next = held.applyDelta(delta({ services: [service('web', 6), service('cache', 6)], removedServiceIds: ['db'] }));
    expect(next?.services.map((s) => [s.id, s.revision])).toEqual([
      ['web', 6],
      ['cache', 6],
    ]);
    const resynced = held.applyChunk({ part: NodeView.fromPartial({ revision: 9, services: [service('api', 9)] }), first: true, last: true });
    expect(resynced?.services.map((s) => s.id)).toEqual(['api']);
  });
});

describe('HeldView readiness', () => {
  it('takes a whole set, then changes, saying each time whether the set changed', () => {
    const held = heldWith([endpoint('e1'), endpoint('e2'), endpoint('e3')]);
    expect(held.applyReadiness({ replace: true, readyEndpointIds: ['e1', 'e2'], unreadyEndpointIds: [] })).toBe(true);
    expect([...held.readyEndpoints()]).toEqual(['e1', 'e2']);
    expect(held.applyReadiness({ replace: false, readyEndpointIds: ['e3'], unreadyEndpointIds: ['e1'] })).toBe(true);
    expect([...held.readyEndpoints()].sort()).toEqual(['e2', 'e3']);
    expect(held.applyReadiness({ replace: false, readyEndpointIds: ['e2'], unreadyEndpointIds: ['e1'] })).toBe(false);
    expect(held.applyReadiness({ replace: true, readyEndpointIds: ['e3', 'e2'], unreadyEndpointIds: [] })).toBe(false);
    // A whole set drops what it does not name.
    expect(held.applyReadiness({ replace: true, readyEndpointIds: ['e3'], unreadyEndpointIds: [] })).toBe(true);
    expect([...held.readyEndpoints()]).toEqual(['e3']);
  });

  it('keeps the set across a broken session until the next session replaces it, and drops endpoints that leave the view', () => {
    const held = heldWith([endpoint('e1'), endpoint('e2'), endpoint('r1', 'red')]);
    held.applyReadiness({ replace: true, readyEndpointIds: ['e1', 'e2', 'r1'], unreadyEndpointIds: [] });
    held.discardPartial();
    expect([...held.readyEndpoints()].sort()).toEqual(['e1', 'e2', 'r1']);
    // e1 removed, and red no longer hosted: neither stays ready.
    held.applyDelta(delta({ networkIds: ['blue'], removedEndpointIds: ['e1'] }));
    expect([...held.readyEndpoints()]).toEqual(['e2']);
    held.applyChunk({ part: NodeView.fromPartial({ revision: 7, networks: [{ id: 'blue' }], endpoints: [endpoint('e9')] }), first: true, last: true });
    expect([...held.readyEndpoints()]).toEqual([]);
  });
});

describe('HeldView endpoints of networks the node does not host', () => {
  it('keeps them across deltas until removed by id, and drops a network the node leaves with its endpoints', () => {
    // Hosts blue and red; also holds a backend on green, which it has never hosted (the routing mesh).
    const held = heldWith([endpoint('e1'), endpoint('r1', 'red'), endpoint('g1', 'green')]);
    held.applyReadiness({ replace: true, readyEndpointIds: ['e1', 'r1', 'g1'], unreadyEndpointIds: [] });
    const next = held.applyDelta(delta({ networkIds: ['blue'] }));
    expect(next?.endpoints.map((e) => e.id)).toEqual(['e1', 'g1']);
    expect([...held.readyEndpoints()].sort()).toEqual(['e1', 'g1']);
    const after = held.applyDelta(delta({ fromRevision: 6, revision: 7, networkIds: ['blue'], removedEndpointIds: ['g1'] }));
    expect(after?.endpoints.map((e) => e.id)).toEqual(['e1']);
  });
});

describe('HeldView members and adoption', () => {
  const member = (networkId: string, nodeId: string) => ({ networkId, nodeId, publicKey: nodeId.repeat(64).slice(0, 64), vtep: '198.18.0.12' });

  it('keeps members sorted, changes them as deltas say, and drops a left network’s members with it', () => {
    const held = new HeldView();
    held.applyChunk({ part: NodeView.fromPartial({ revision: 5, nodeId: 'n1', networks: [{ id: 'blue' }, { id: 'red' }], members: [member('red', 'b'), member('blue', 'c')] }), first: true, last: true });
    const next = held.applyDelta(delta({ networkIds: ['blue'], members: [{ ...member('blue', 'a'), vtep: '198.18.0.99' }], removedMembers: [{ networkId: 'blue', nodeId: 'c' }] }));
    expect(next?.members).toEqual([{ ...member('blue', 'a'), vtep: '198.18.0.99' }]);
  });

  it('adopts a saved view and its ready endpoints, and resumes deltas from its revision', () => {
    const held = new HeldView();
    held.adopt(NodeView.fromPartial({ revision: 5, nodeId: 'n1', networks: [{ id: 'blue' }, { id: 'red' }], endpoints: [endpoint('e1')] }), ['e1', 'gone']);
    expect(held.revision).toBe(5);
    expect([...held.readyEndpoints()]).toEqual(['e1']);
    expect(held.applyDelta(delta({ endpoints: [endpoint('e2')] }))?.endpoints.map((e) => e.id)).toEqual(['e1', 'e2']);
  });
});
