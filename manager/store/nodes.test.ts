import { must, twoNodeStore } from './test-fixtures';

describe('node availability and labels', () => {
  it('start active without labels, and survive re-registration', () => {
    const store = twoNodeStore();
    expect(store.node('node-a')).toMatchObject({ availability: 'active', labels: {} });
    must(store, { type: 'updateNode', node: 'node-a', availability: 'drain', labelAdd: { zone: 'b', rack: '7' } });
    must(store, { type: 'registerNode', id: 'other-id', name: 'node-a', advertiseAddr: '192.168.0.9' });
    expect(store.node('node-a')).toMatchObject({ availability: 'drain', labels: { rack: '7', zone: 'b' }, advertiseAddr: '192.168.0.9' });
  });

  it('change only what the update names', () => {
    const store = twoNodeStore();
    must(store, { type: 'updateNode', node: 'node-b', labelAdd: { zone: 'b', rack: '7' } });
    const updated = must(store, { type: 'updateNode', node: 'node-b-id', labelAdd: { zone: 'c' }, labelRm: ['rack', 'absent'] });
    expect(updated).toMatchObject({ availability: 'active', labels: { zone: 'c' } });
  });

  it('can be removed once they host no sandbox', () => {
    const store = twoNodeStore();
    must(store, { type: 'removeSandbox', sandbox: 'db' });
    expect(must(store, { type: 'removeNode', node: 'node-b' }).name).toBe('node-b');
    expect(store.nodes().map((node) => node.name)).toEqual(['node-a']);
  });
});
