import fc from 'fast-check';
import type { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import type { Command } from './commands';
import { Store } from './store';
import { gossipCluster, servicesCluster, viewCommand, withDistinctIds } from './test-commands';
import { must, twoNodeStore } from './test-fixtures';

/** A view apart from the revision it was computed at. */
function content(view: NodeView): string {
  return JSON.stringify({ ...view, revision: 0 });
}

describe('Store.affectedNodesSince', () => {
  it.each([
    ['an empty store', []],
    ['a store with networks, nodes, sandboxes and services', servicesCluster],
    ['a store where some nodes gossip', gossipCluster],
  ])('names every node whose view changed, for random command sequences from %s (and restored indexes agree)', (_from, opening) => {
    fc.assert(
      fc.property(fc.array(viewCommand, { maxLength: 60 }), fc.nat(60), (generated, restoreAt) => {
        const store = new Store();
        for (const command of opening) must(store, command);
        const nodeIds = new Set(store.nodes().map((node) => node.id));
        generated.map((command, index) => withDistinctIds(command, index + opening.length)).forEach((next, index) => {
          const revision = store.revision;
          const before = new Map([...nodeIds].map((id) => [id, content(store.nodeView(id))]));
          const result = store.apply(next);
          if (result.ok) for (const node of store.nodes()) nodeIds.add(node.id);
          const affected = store.affectedNodesSince(revision);
          expect(affected).toBeDefined();
          for (const id of nodeIds) {
            const changed = content(store.nodeView(id)) !== (before.get(id) ?? content(new Store().nodeView(id)));
            if (changed) expect([...(affected ?? [])]).toContain(id);
          }
          if (index === restoreAt) {
            const copy = Store.restore(store.snapshot());
            for (const id of nodeIds) expect(copy.nodeView(id)).toEqual(store.nodeView(id));
          }
        });
      }),
    );
  });

  it('is limited to the hosts of the network a connect touched', () => {
    const store = twoNodeStore();
    must(store, { type: 'registerNode', id: 'node-c-id', name: 'node-c', advertiseAddr: '192.168.0.3' });
    must(store, { type: 'createNetwork', id: 'back-id', name: 'back', driver: '', subnet: '10.0.2.0/24' });
    must(store, { type: 'createSandbox', id: 'cache-id-0123456789', name: 'cache', node: 'node-c' });
    must(store, { type: 'connect', endpointId: 'ep-cache-back', network: 'back', sandbox: 'cache', aliases: [] });
    const revision = store.revision;
    must(store, { type: 'createSandbox', id: 'api-id-0123456789', name: 'api', node: 'node-a' });
    must(store, { type: 'connect', endpointId: 'ep-api-front', network: 'front', sandbox: 'api', aliases: [] });
    expect(store.affectedNodesSince(revision)).toEqual(new Set(['node-a-id', 'node-b-id']));
    expect(store.affectedNodesSince(store.revision)).toEqual(new Set());
  });

  it('names every node when a network is created or removed: each view lists every overlay subnet', () => {
    const store = twoNodeStore();
    must(store, { type: 'registerNode', id: 'node-c-id', name: 'node-c', advertiseAddr: '192.168.0.3' });
    const every = new Set(['node-a-id', 'node-b-id', 'node-c-id']);
    let revision = store.revision;
    must(store, { type: 'createNetwork', id: 'back-id', name: 'back', driver: '', subnet: '10.0.2.0/24' });
    expect(store.affectedNodesSince(revision)).toEqual(every);
    revision = store.revision;
    must(store, { type: 'removeNetwork', network: 'back' });
    expect(store.affectedNodesSince(revision)).toEqual(every);
  });

  it('includes the nodes sharing a network with a node whose address changed', () => {
    const store = twoNodeStore();
    const revision = store.revision;
    must(store, { type: 'registerNode', id: 'unused', name: 'node-b', advertiseAddr: '192.168.0.9' });
    expect(store.affectedNodesSince(revision)).toEqual(new Set(['node-a-id', 'node-b-id']));
  });

  it('names every node when a service with an ingress port, or one of its backends, changes: every node answers its ports', () => {
    const store = twoNodeStore();
    must(store, { type: 'registerNode', id: 'node-c-id', name: 'node-c', advertiseAddr: '192.168.0.3' });
    must(store, { type: 'createSandbox', id: 'f1-id-0123456789', name: 'f1', node: 'node-a' });
    const every = new Set(['node-a-id', 'node-b-id', 'node-c-id']);
    const writes: [string, Command][] = [
      ['created', { type: 'createService', id: 'front-svc', name: 'front-svc', networks: ['front'], ports: [{ targetPort: 80, publishedPort: 8480 }] }],
      ['gains a backend', { type: 'connect', endpointId: 'ep-f1', network: 'front', sandbox: 'f1', aliases: [], service: 'front-svc' }],
      ['loses its last ingress port', { type: 'updateService', service: 'front-svc', publishRm: [{ targetPort: 8480 }] }],
      ['gets one again', { type: 'updateService', service: 'front-svc', publishAdd: [{ targetPort: 80, publishedPort: 8480 }] }],
      ['has a backend whose node moves', { type: 'registerNode', id: 'unused', name: 'node-a', advertiseAddr: '192.168.0.9' }],
      ['has a backend drain', { type: 'disconnect', network: 'front', sandbox: 'f1', at: 0 }],
    ];
    for (const [what, command] of writes) {
      const revision = store.revision;
      must(store, command);
      expect([what, store.affectedNodesSince(revision)]).toEqual([what, every]);
    }
    // A service without ingress ports stays with the hosts of its networks.
    const revision = store.revision;
    must(store, { type: 'createService', id: 'quiet-svc', name: 'quiet', networks: ['front'], ports: [{ targetPort: 80, publishedPort: 8481, publishMode: 'host' }] });
    expect(store.affectedNodesSince(revision)).toEqual(new Set(['node-a-id', 'node-b-id']));
  });

  it('does not know what changed before a restore', () => {
    const store = twoNodeStore();
    const copy = Store.restore(store.snapshot());
    expect(copy.affectedNodesSince(store.revision - 1)).toBeUndefined();
    expect(copy.affectedNodesSince(store.revision)).toEqual(new Set());
  });
});
