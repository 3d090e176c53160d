import { Store } from './store';
import { must, twoNodeStore } from './test-fixtures';

/*
 * The last resort of a total apply: a handler that throws halfway (a bug, or a state it did not
 * expect) is refused, and what it wrote before throwing is undone, allocators included.
 */

/** twoNodeStore plus a sandbox on a node the records lack, as a damaged snapshot could hold: connecting it throws after the write. */
function storeWithOrphan(): Store {
  const snapshot = twoNodeStore().snapshot();
  snapshot.sandboxes.push({ id: 'orphan-id-0123', name: 'orphan', nodeId: 'gone-node-id', netnsName: 'trsb-orphan-id-', createdRevision: 1 });
  return Store.restore(snapshot);
}

describe('Store.apply when a handler throws', () => {
  it('refuses with INTERNAL, and leaves the records, the revision and the change journal as they were', () => {
    const store = storeWithOrphan();
    const before = store.snapshot();
    const revision = store.revision;

    const result = store.apply({ type: 'connect', endpointId: 'ep-orphan', network: 'front', sandbox: 'orphan', aliases: [] });

    expect(result).toEqual({ ok: false, error: { code: 'INTERNAL', field: 'type', message: expect.stringMatching(/^type: applying this connect failed \(.*\); nothing was changed/) } });
    expect(store.snapshot()).toEqual(before);
    expect(store.revision).toBe(revision);
    expect(store.changesSince(revision)?.endpoints.size).toBe(0);
  });

  it('gives back what the failed command took: the next endpoint gets the address it would have had', () => {
    const store = storeWithOrphan();
    const untouched = storeWithOrphan();
    store.apply({ type: 'connect', endpointId: 'ep-orphan', network: 'front', sandbox: 'orphan', aliases: [] });

    for (const target of [store, untouched]) must(target, { type: 'createSandbox', id: 'late-id-0123456', name: 'late', node: 'node-a' });
    const connect = { type: 'connect', endpointId: 'ep-late', network: 'front', sandbox: 'late', aliases: [] } as const;
    expect(must(store, connect).ip).toBe(must(untouched, connect).ip);
    expect(store.snapshot()).toEqual(untouched.snapshot());
    // The indexes were rebuilt too: node-a's view holds the new endpoint, and the journal saw it.
    expect(store.nodeView('node-a-id').endpoints.map((endpoint) => endpoint.id).sort()).toEqual(['ep-db-front', 'ep-late', 'ep-web-front']);
    expect(store.changesSince(store.revision - 1)?.endpoints.has('ep-late')).toBe(true);
  });
});
