import { Store } from './store';
import { must, twoNodeStore } from './test-fixtures';

const revocation = (at: number, until: number) => ({ reason: 'removed by trellis node rm', at, until });

describe('the revocation list', () => {
  it('revokes a node in the step that removes it, and keeps it across a snapshot', () => {
    const store = twoNodeStore();
    must(store, { type: 'removeSandbox', sandbox: 'db' });
    must(store, { type: 'removeNode', node: 'node-b', revoke: revocation(1_000, 5_000) });
    const restored = Store.restore(JSON.parse(JSON.stringify(store.snapshot())));
    expect(restored.revocation('node-b-id')).toEqual({ nodeId: 'node-b-id', reason: 'removed by trellis node rm', revokedAt: 1_000, until: 5_000 });
    expect(restored.revocation('node-a-id')).toBeUndefined();
  });

  it('revokes nothing for a removal that fails, or one from before revocation', () => {
    const store = twoNodeStore();
    expect(store.apply({ type: 'removeNode', node: 'node-b', revoke: revocation(1_000, 5_000) }).ok).toBe(false);
    expect(store.revocation('node-b-id')).toBeUndefined();
    must(store, { type: 'removeSandbox', sandbox: 'db' });
    must(store, { type: 'removeNode', node: 'node-b' });
    expect(store.revocation('node-b-id')).toBeUndefined();
    expect(store.snapshot().revokedNodes).toBeUndefined();
  });

  it('forgets a node once every certificate it may hold has expired', () => {
    const store = new Store();
    must(store, { type: 'revokeNode', nodeId: 'm2', ...revocation(1_000, 5_000) });
    must(store, { type: 'revokeNode', nodeId: 'm3', ...revocation(4_000, 9_000) });
    expect(store.revocation('m2')).toBeDefined();
    must(store, { type: 'revokeNode', nodeId: 'm4', ...revocation(5_000, 10_000) });
    expect(store.revocation('m2')).toBeUndefined();
    expect(store.snapshot().revokedNodes?.map((revoked) => revoked.nodeId)).toEqual(['m3', 'm4']);
  });

  it.each([
    [{ nodeId: '', ...revocation(1, 2) }, 'node_id'],
    [{ nodeId: 'm2', ...revocation(1, 2), reason: '' }, 'reason'],
    [{ nodeId: 'm2', ...revocation(0, 2) }, 'at'],
    [{ nodeId: 'm2', ...revocation(5, 2) }, 'until'],
    [{ nodeId: 'm2', ...revocation(1, Number.POSITIVE_INFINITY) }, 'until'],
  ])('refuses %j, naming %s, and changes nothing', (command, field) => {
    const store = new Store();
    const result = store.apply({ type: 'revokeNode', ...command });
    expect(result).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT', field } });
    expect(store.revision).toBe(0);
  });
});
