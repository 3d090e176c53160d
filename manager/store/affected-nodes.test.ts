import fc from 'fast-check';
import type { NodeView } from '../../proto/gen/trellis/v1/dispatcher';
import type { Command } from './commands';
import { Store } from './store';
import { must, twoNodeStore } from './test-fixtures';

const networkName = fc.constantFrom('a', 'b', 'c');
const sandboxName = fc.constantFrom('s1', 's2', 's3', 's4', 's5');
const nodeName = fc.constantFrom('n1', 'n2', 'n3', 'n4');

/** Every command that can reach a node view, over few names so objects collide, move and vanish often. */
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({
    type: fc.constant('createNetwork' as const),
    id: fc.constant(''),
    name: networkName,
    driver: fc.constant(''),
    subnet: fc.constantFrom('10.0.1.0/29', '10.0.3.0/24'),
  }),
  fc.record({ type: fc.constant('removeNetwork' as const), network: networkName }),
  fc.record({ type: fc.constant('registerNode' as const), id: fc.constant(''), name: nodeName, advertiseAddr: fc.constantFrom('192.168.0.1', '192.168.0.2') }),
  fc.record({ type: fc.constant('updateNode' as const), node: nodeName, availability: fc.constantFrom('active', 'drain') }),
  fc.record({ type: fc.constant('removeNode' as const), node: nodeName }),
  fc.record({ type: fc.constant('createSandbox' as const), id: fc.constant(''), name: sandboxName, node: nodeName }),
  fc.record({ type: fc.constant('removeSandbox' as const), sandbox: sandboxName }),
  fc.record({ type: fc.constant('connect' as const), endpointId: fc.constant(''), network: networkName, sandbox: sandboxName, aliases: fc.constant([]) }),
  fc.record({ type: fc.constant('disconnect' as const), network: networkName, sandbox: sandboxName }),
  fc.record({ type: fc.constant('createService' as const), id: fc.constant(''), name: fc.constantFrom('v1', 'v2'), networks: fc.constantFrom(['a'], ['a', 'b']) }),
  fc.record({ type: fc.constant('removeService' as const), service: fc.constantFrom('v1', 'v2') }),
);

function withId(generated: Command, index: number): Command {
  const id = `${index}`.padStart(12, '0');
  if (generated.type === 'connect') return { ...generated, endpointId: id };
  if (generated.type === 'createSandbox') return { ...generated, id: `${index}`.padStart(10, '0') + '-box' };
  if ('id' in generated) return { ...generated, id };
  return generated;
}

/** A view apart from the revision it was computed at. */
function content(view: NodeView): string {
  return JSON.stringify({ ...view, revision: 0 });
}

describe('Store.affectedNodesSince', () => {
  it('names every node whose view changed, for random command sequences (and restored indexes agree)', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 60 }), fc.nat(60), (generated, restoreAt) => {
        const store = new Store();
        const nodeIds = new Set<string>();
        generated.map(withId).forEach((next, index) => {
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

  it('includes the nodes sharing a network with a node whose address changed', () => {
    const store = twoNodeStore();
    const revision = store.revision;
    must(store, { type: 'registerNode', id: 'unused', name: 'node-b', advertiseAddr: '192.168.0.9' });
    expect(store.affectedNodesSince(revision)).toEqual(new Set(['node-a-id', 'node-b-id']));
  });

  it('does not know what changed before a restore', () => {
    const store = twoNodeStore();
    const copy = Store.restore(store.snapshot());
    expect(copy.affectedNodesSince(store.revision - 1)).toBeUndefined();
    expect(copy.affectedNodesSince(store.revision)).toEqual(new Set());
  });
});
