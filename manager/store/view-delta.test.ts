import fc from 'fast-check';
import type { NodeView, ViewDelta } from '../../proto/gen/trellis/v1/dispatcher';
import type { Command } from './commands';
import { HeldView } from '../../proto/runtime/held-view';
import { concernsNode } from './journal';
import { Store } from './store';
import { compareText } from '../../proto/runtime/order';
import { gossipCluster, servicesCluster, viewCommand, withDistinctIds } from './test-commands';
import { must, twoNodeStore } from './test-fixtures';

/**
 * A view's content in an order that does not depend on how it was built. Not its
 * revision: a node no change concerned keeps the older one, and resumes from there.
 */
function content(view: NodeView): unknown {
  const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return {
    ...view,
    revision: 0,
    networks: [...view.networks].sort(byId),
    sandboxes: [...view.sandboxes].sort(byId),
    endpoints: [...view.endpoints].sort(byId),
    services: [...view.services].sort(byId),
    members: [...view.members].sort((a, b) => compareText(a.networkId, b.networkId) || compareText(a.nodeId, b.nodeId)),
  };
}

function heldFrom(view: NodeView): HeldView {
  const held = new HeldView();
  held.applyChunk({ part: view, first: true, last: true });
  return held;
}

describe('Store.viewDelta', () => {
  /** Like the dispatcher: views pushed as deltas after random runs of commands must equal the store's views. */
  function rebuildsExactly(opening: readonly Command[], numRuns: number): void {
    fc.assert(
      fc.property(fc.array(viewCommand, { maxLength: 60 }), fc.array(fc.boolean(), { maxLength: 60 }), (generated, pushAfter) => {
        const store = new Store();
        for (const command of opening) must(store, command);
        const held = new Map<string, HeldView>();
        let pushed = store.revision;
        /** Affected nodes get a delta, the rest move to the new revision unchanged. */
        const push = (): void => {
          const changes = store.changesSince(pushed);
          if (!changes) throw new Error('the journal lost revisions it should hold');
          for (const [nodeId, view] of held) if (concernsNode(changes, nodeId)) view.applyDelta(store.viewDelta(nodeId, pushed, changes));
          pushed = store.revision;
        };
        for (const node of store.nodes()) held.set(node.id, heldFrom(store.nodeView(node.id)));
        generated.map((command, index) => withDistinctIds(command, index + opening.length)).forEach((next, index) => {
          store.apply(next);
          for (const node of store.nodes()) if (!held.has(node.id)) held.set(node.id, heldFrom(store.nodeView(node.id)));
          if (pushAfter[index]) push();
        });
        push();
        for (const [nodeId, view] of held) expect(content(view.view())).toEqual(content(store.nodeView(nodeId)));
      }),
      { numRuns },
    );
  }

  it('rebuilds every node view exactly when pushed as the dispatcher does, for random command sequences', () => {
    rebuildsExactly([], 300);
  });

  it('rebuilds every node view exactly, services included, from a cluster with networks, sandboxes and services', () => {
    rebuildsExactly(servicesCluster, 300);
  });

  it('rebuilds every node view exactly, members included, from a cluster where some nodes gossip', () => {
    rebuildsExactly(gossipCluster, 300);
  });

  it.each([
    ['an empty store', []],
    ['a store where some nodes gossip', gossipCluster],
  ])('brings a view held at any earlier revision up to date in one delta, from %s', (_from, opening) => {
    fc.assert(
      fc.property(fc.array(viewCommand, { maxLength: 60 }), fc.nat(60), (generated, heldAt) => {
        const store = new Store();
        for (const command of opening) must(store, command);
        const views = new Map<string, NodeView>();
        let from = store.revision;
        generated.map((command, index) => withDistinctIds(command, index + opening.length)).forEach((next, index) => {
          if (index === heldAt) {
            from = store.revision;
            for (const node of store.nodes()) views.set(node.id, store.nodeView(node.id));
          }
          store.apply(next);
        });
        const changes = store.changesSince(from);
        for (const [nodeId, view] of views) {
          const held = heldFrom(view);
          held.applyDelta(store.viewDelta(nodeId, from, changes ?? fail('journal too short')));
          expect(content(held.view())).toEqual(content(store.nodeView(nodeId)));
        }
      }),
    );
  });

  it('reaches every node when a network is created or removed, with the whole list of overlay subnets', () => {
    const store = twoNodeStore();
    must(store, { type: 'registerNode', id: 'node-c-id', name: 'node-c', advertiseAddr: '192.168.0.3' });
    for (const step of [
      { type: 'createNetwork', id: 'back-id', name: 'back', driver: '', subnet: '10.0.2.0/24' },
      { type: 'removeNetwork', network: 'back' },
    ] as const) {
      const from = store.revision;
      must(store, step);
      const changes = store.changesSince(from) ?? fail('journal too short');
      for (const nodeId of ['node-a-id', 'node-b-id', 'node-c-id']) {
        expect(concernsNode(changes, nodeId)).toBe(true);
        expect(store.viewDelta(nodeId, from, changes).overlaySubnets).toEqual(store.nodeView(nodeId).overlaySubnets);
      }
    }
    expect(store.nodeView('node-c-id').overlaySubnets).toEqual(['10.0.1.0/24']);
  });

  it('keeps other changes to the nodes they concern', () => {
    const store = twoNodeStore();
    must(store, { type: 'registerNode', id: 'node-c-id', name: 'node-c', advertiseAddr: '192.168.0.3' });
    must(store, { type: 'createSandbox', id: 'api-id-0123456789', name: 'api', node: 'node-b' });
    const from = store.revision;
    must(store, { type: 'connect', endpointId: 'ep-api', network: 'front', sandbox: 'api', aliases: [], publishedPorts: [{ hostPort: 8080, port: 80 }] });
    const changes = store.changesSince(from) ?? fail('journal too short');
    expect(['node-a-id', 'node-b-id', 'node-c-id'].filter((nodeId) => concernsNode(changes, nodeId))).toEqual(['node-a-id', 'node-b-id']);
    const delta = store.viewDelta('node-b-id', from, changes);
    expect(delta.endpoints.find((endpoint) => endpoint.id === 'ep-api')?.publishedPorts).toEqual([{ protocol: 'tcp', hostPort: 8080, port: 80 }]);
  });

  it('sends a remote attach as one endpoint, not the network again', () => {
    const store = twoNodeStore();
    must(store, { type: 'createSandbox', id: 'api-id-0123456789', name: 'api', node: 'node-b' });
    const from = store.revision;
    must(store, { type: 'connect', endpointId: 'ep-api', network: 'front', sandbox: 'api', aliases: [] });
    const delta = store.viewDelta('node-a-id', from, store.changesSince(from) ?? fail('journal too short'));
    expect(delta.endpoints.map((endpoint) => endpoint.id)).toEqual(['ep-api']);
    expect(delta.networks).toEqual([]);
    expect(delta.removedEndpointIds).toEqual([]);
  });
});

describe('Store.viewDelta to a node removed meanwhile', () => {
  it('drops the backend it held for the routing mesh when its service lost its ingress port in the same run', () => {
    const store = twoNodeStore();
    must(store, { type: 'createService', id: 'front-svc', name: 'front-svc', networks: ['front'], ports: [{ targetPort: 80, publishedPort: 8480 }] });
    must(store, { type: 'createSandbox', id: 'f1-id-0123456789', name: 'f1', node: 'node-a' });
    must(store, { type: 'connect', endpointId: 'ep-f1', network: 'front', sandbox: 'f1', aliases: [], service: 'front-svc' });
    must(store, { type: 'registerNode', id: 'node-c-id', name: 'node-c', advertiseAddr: '192.168.0.3' });
    const held = heldFrom(store.nodeView('node-c-id'));
    expect(held.view().endpoints.map((endpoint) => endpoint.id)).toEqual(['ep-f1']);
    const from = store.revision;
    must(store, { type: 'updateService', service: 'front-svc', publishRm: [{ targetPort: 8480 }] });
    must(store, { type: 'removeNode', node: 'node-c' });
    held.applyDelta(store.viewDelta('node-c-id', from, store.changesSince(from) ?? fail('journal too short')));
    expect(held.view()).toMatchObject({ endpoints: [], services: [] });
  });
});

describe('Store.viewDelta with services', () => {
  it('sends a service when it is created, drops it when its node stops hosting its networks, and trims the VIPs it shows', () => {
    const store = twoNodeStore();
    must(store, { type: 'createNetwork', id: 'back-id', name: 'back', driver: '', subnet: '10.0.2.0/24' });
    must(store, { type: 'connect', endpointId: 'ep-web-back', network: 'back', sandbox: 'web', aliases: [] });
    let from = store.revision;
    must(store, { type: 'createService', id: 'api-svc', name: 'api', networks: ['front', 'back'] });
    must(store, { type: 'createService', id: 'jobs-svc', name: 'jobs', networks: ['back'] });
    let changes = store.changesSince(from) ?? fail('journal too short');
    // node-b hosts front only: it sees api with front's VIP, and not jobs.
    expect(concernsNode(changes, 'node-b-id')).toBe(true);
    const toB = store.viewDelta('node-b-id', from, changes);
    expect(toB.services.map((service) => [service.id, service.vips.map((vip) => vip.networkName)])).toEqual([['api-svc', ['front']]]);
    expect(toB.removedServiceIds).toEqual(['jobs-svc']);
    expect(store.viewDelta('node-a-id', from, changes).services.map((service) => [service.id, service.vips.length]).sort()).toEqual([
      ['api-svc', 2],
      ['jobs-svc', 1],
    ]);

    from = store.revision;
    must(store, { type: 'disconnect', network: 'back', sandbox: 'web' });
    changes = store.changesSince(from) ?? fail('journal too short');
    const toA = store.viewDelta('node-a-id', from, changes);
    expect(toA.removedServiceIds).toEqual(['jobs-svc']);
    expect(toA.services.map((service) => [service.id, service.vips.map((vip) => vip.networkName)])).toEqual([['api-svc', ['front']]]);

    from = store.revision;
    must(store, { type: 'removeService', service: 'api' });
    changes = store.changesSince(from) ?? fail('journal too short');
    expect(store.viewDelta('node-b-id', from, changes).removedServiceIds).toEqual(['api-svc']);
  });
});

describe('Store.viewDelta with services publishing ingress ports', () => {
  it('keeps every node, hosting their networks or not, holding those services and their backends as the store has them', () => {
    const store = twoNodeStore();
    must(store, { type: 'registerNode', id: 'node-c-id', name: 'node-c', advertiseAddr: '192.168.0.3' });
    must(store, { type: 'createSandbox', id: 'f1-id-0123456789', name: 'f1', node: 'node-a' });
    const nodes = ['node-a-id', 'node-b-id', 'node-c-id'];
    const held = new Map(nodes.map((nodeId) => [nodeId, heldFrom(store.nodeView(nodeId))]));
    const step = (command: Command): { toC: ViewDelta; viewOfC: NodeView } => {
      const from = store.revision;
      must(store, command);
      const changes = store.changesSince(from) ?? fail('journal too short');
      let toC: ViewDelta | undefined;
      for (const nodeId of nodes) {
        const delta = store.viewDelta(nodeId, from, changes);
        if (nodeId === 'node-c-id') toC = delta;
        if (concernsNode(changes, nodeId)) held.get(nodeId)?.applyDelta(delta);
        expect(content(held.get(nodeId)?.view() ?? fail('no view'))).toEqual(content(store.nodeView(nodeId)));
      }
      return { toC: toC ?? fail('no delta'), viewOfC: store.nodeView('node-c-id') };
    };

    let { toC, viewOfC } = step({ type: 'createService', id: 'front-svc', name: 'front-svc', networks: ['front'], ports: [{ targetPort: 80, publishedPort: 8480 }] });
    expect(toC.services.map((service) => service.id)).toEqual(['front-svc']);
    ({ toC, viewOfC } = step({ type: 'connect', endpointId: 'ep-f1', network: 'front', sandbox: 'f1', aliases: [], service: 'front-svc' }));
    expect(toC.endpoints.map((endpoint) => endpoint.id)).toEqual(['ep-f1']);
    expect(toC.networkIds).toEqual([]);
    // The backend's node moves: node-c forwards to its new address.
    ({ toC, viewOfC } = step({ type: 'registerNode', id: 'unused', name: 'node-a', advertiseAddr: '192.168.0.9' }));
    expect(toC.endpoints.map((endpoint) => [endpoint.id, endpoint.vtep])).toEqual([['ep-f1', '192.168.0.9']]);
    // node-b leaves front: it keeps forwarding to the backend there.
    step({ type: 'disconnect', network: 'front', sandbox: 'db' });
    expect(held.get('node-b-id')?.view()).toMatchObject({ networks: [], endpoints: [expect.objectContaining({ id: 'ep-f1' })] });
    ({ toC, viewOfC } = step({ type: 'updateService', service: 'front-svc', publishRm: [{ targetPort: 8480 }] }));
    expect([toC.removedServiceIds, toC.removedEndpointIds]).toEqual([['front-svc'], ['ep-f1']]);
    expect(viewOfC).toMatchObject({ services: [], endpoints: [] });
    ({ toC, viewOfC } = step({ type: 'updateService', service: 'front-svc', publishAdd: [{ targetPort: 80, publishedPort: 8480 }] }));
    expect(viewOfC.endpoints.map((endpoint) => endpoint.id)).toEqual(['ep-f1']);
    // Draining, then gone.
    ({ toC } = step({ type: 'disconnect', network: 'front', sandbox: 'f1', at: 0 }));
    expect(toC.endpoints).toEqual([expect.objectContaining({ id: 'ep-f1', draining: true })]);
    ({ toC, viewOfC } = step({ type: 'finishDrain', endpointIds: ['ep-f1'], at: 60_000 }));
    expect(toC.removedEndpointIds).toEqual(['ep-f1']);
    expect(viewOfC.endpoints).toEqual([]);
  });
});

function fail(message: string): never {
  throw new Error(message);
}
