import { must, twoNodeStore } from './test-fixtures';

describe('endpoint options', () => {
  it('default the hostname to the sandbox name and derive the MAC from the address', () => {
    expect(twoNodeStore().sandbox('web')?.endpoints[0]).toMatchObject({ hostname: 'web', mac: '02:42:0a:00:01:02', extraHosts: [], dns: [] });
  });

  it('keep a static MAC (lower case), hostname, extra hosts and resolvers, and pass the MAC to agents', () => {
    const store = twoNodeStore();
    must(store, { type: 'createSandbox', id: 'cache-id-0123456789', name: 'cache', node: 'node-a' });
    const endpoint = must(store, {
      type: 'connect',
      endpointId: 'e1',
      network: 'front',
      sandbox: 'cache',
      aliases: [],
      mac: '02:00:00:AA:BB:CC',
      hostname: 'cache-1',
      extraHosts: ['db.local:10.0.9.9'],
      dns: ['10.0.1.53'],
    });
    expect(endpoint).toMatchObject({ mac: '02:00:00:aa:bb:cc', hostname: 'cache-1', extraHosts: ['db.local:10.0.9.9'], dns: ['10.0.1.53'] });
    expect(store.nodeView('node-a-id').endpoints.find((view) => view.id === 'e1')?.mac).toBe('02:00:00:aa:bb:cc');
  });

  it('accept a static MAC that is the automatic one of its own static address', () => {
    const store = twoNodeStore();
    must(store, { type: 'createSandbox', id: 'cache-id-0123456789', name: 'cache', node: 'node-a' });
    const endpoint = must(store, { type: 'connect', endpointId: 'e1', network: 'front', sandbox: 'cache', aliases: [], ip: '10.0.1.99', mac: '02:42:0a:00:01:63' });
    expect(endpoint.mac).toBe('02:42:0a:00:01:63');
  });
});
