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

describe('label keys named like Object properties', () => {
  // "__proto__" is refused by the command schema (assigned to an object it would set its prototype).
  it.each(['toString', 'constructor', 'hasOwnProperty'])('"%s" is removed, added and kept like any other key', (key) => {
    const store = twoNodeStore();
    // Removing a label that is not there is no error, whatever its name (the API always sends label_add, empty here).
    expect(must(store, { type: 'updateNode', node: 'node-a', labelAdd: {}, labelRm: [key] }).labels).toEqual({});
    const added = must(store, { type: 'updateNode', node: 'node-a', labelAdd: JSON.parse(`{"${key}": "x", "zone": "a"}`) as Record<string, string> });
    expect(Object.entries(added.labels)).toEqual([[key, 'x'], ['zone', 'a']]);
    expect(must(store, { type: 'updateNode', node: 'node-a', labelAdd: {}, labelRm: [key] }).labels).toEqual({ zone: 'a' });
  });
});

describe('what an agent reports at registration', () => {
  const reporting = { type: 'registerNode', id: 'node-c-id', name: 'node-c', advertiseAddr: '192.168.0.3' } as const;

  it('is shown on the node, and replaced when its agent registers again with other flags', () => {
    const store = twoNodeStore();
    must(store, { ...reporting, gatewaySubnet: '172.29.0.0/16', reservedPorts: [{ port: 9100, reason: "the agent's metrics port" }, { protocol: 'udp', port: 5353 }] });
    expect(store.node('node-c')).toMatchObject({
      gatewaySubnet: '172.29.0.0/16',
      reservedPorts: [
        { protocol: 'tcp', port: 9100, reason: "the agent's metrics port" },
        { protocol: 'udp', port: 5353, reason: 'given with --reserved-ports' },
      ],
    });
    must(store, { ...reporting, gatewaySubnet: '172.30.0.0/16' });
    expect(store.node('node-c')).toMatchObject({ gatewaySubnet: '172.30.0.0/16', reservedPorts: [] });
  });

  it('frees a reserved port for publishing once the agent no longer reserves it', () => {
    const store = twoNodeStore();
    must(store, { type: 'registerNode', id: 'node-a-id', name: 'node-a', advertiseAddr: '192.168.0.1', reservedPorts: [{ port: 9100 }] });
    must(store, { type: 'createSandbox', id: 'cache-id-0123456789', name: 'cache', node: 'node-a' });
    const publishing = { type: 'connect', endpointId: 'ep-cache', network: 'front', sandbox: 'cache', aliases: [], publishedPorts: [{ hostPort: 9100, port: 80 }] } as const;
    expect(store.apply(publishing).ok).toBe(false);
    must(store, { type: 'registerNode', id: 'node-a-id', name: 'node-a', advertiseAddr: '192.168.0.1' });
    expect(must(store, publishing).publishedPorts).toEqual([{ protocol: 'tcp', hostPort: 9100, port: 80 }]);
  });

  it('leaves 4789/tcp free: only 4789/udp carries the overlay', () => {
    const store = twoNodeStore();
    must(store, { type: 'createSandbox', id: 'cache-id-0123456789', name: 'cache', node: 'node-a' });
    const endpoint = must(store, { type: 'connect', endpointId: 'ep-cache', network: 'front', sandbox: 'cache', aliases: [], publishedPorts: [{ protocol: 'tcp', hostPort: 4789, port: 80 }] });
    expect(endpoint.publishedPorts).toEqual([{ protocol: 'tcp', hostPort: 4789, port: 80 }]);
  });

  it("keeps default address pool blocks out of every node's gateway subnet", () => {
    const store = twoNodeStore();
    must(store, { type: 'setDefaultAddressPools', pools: [{ base: '172.16.0.0/12', size: 16 }] });
    must(store, { ...reporting, gatewaySubnet: '172.16.0.0/15' });
    const pooled = must(store, { type: 'createNetwork', id: 'pooled-id', name: 'pooled', driver: '' });
    expect(pooled.subnet).toBe('172.18.0.0/16');
  });
});
