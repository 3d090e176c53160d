import type { CreateService } from './commands';
import { must, twoNodeStore } from './test-fixtures';

const service = (fields: Partial<CreateService>): CreateService => ({ type: 'createService', id: 'api-id', name: 'api', networks: ['front'], ...fields });

describe('services', () => {
  it('get a VIP per network in vip mode, taken like an endpoint address', () => {
    const store = twoNodeStore();
    must(store, { type: 'createNetwork', id: 'back-id', name: 'back', driver: '', subnet: '10.0.2.0/24' });
    const created = must(store, service({ networks: ['front', 'back-id', 'front'], ports: [{ targetPort: 80 }, { targetPort: 53, protocol: 'udp', publishedPort: 5353, publishMode: 'host' }], labels: { tier: 'web' } }));
    expect(created).toMatchObject({
      name: 'api',
      networks: ['front', 'back'],
      endpointMode: 'vip',
      vips: [
        { networkId: 'front-id', networkName: 'front', ip: '10.0.1.4' },
        { networkId: 'back-id', networkName: 'back', ip: '10.0.2.2' },
      ],
      ports: [
        { protocol: 'tcp', targetPort: 80, publishedPort: 80, publishMode: 'ingress' },
        { protocol: 'udp', targetPort: 53, publishedPort: 5353, publishMode: 'host' },
      ],
      backends: [],
      labels: { tier: 'web' },
    });
    must(store, { type: 'createSandbox', id: 'cache-id-0123456789', name: 'cache', node: 'node-a' });
    expect(must(store, { type: 'connect', endpointId: 'e1', network: 'front', sandbox: 'cache', aliases: [] }).ip).toBe('10.0.1.5');
  });

  it('get no VIP in dnsrr mode, and may publish host ports', () => {
    const created = must(twoNodeStore(), service({ endpointMode: 'dnsrr', ports: [{ targetPort: 80, publishMode: 'host' }] }));
    expect(created.vips).toEqual([]);
  });

  it('list the endpoints that name them as backends', () => {
    const store = twoNodeStore();
    must(store, service({}));
    must(store, { type: 'createSandbox', id: 'cache-id-0123456789', name: 'cache', node: 'node-b' });
    const backend = must(store, { type: 'connect', endpointId: 'e1', network: 'front', sandbox: 'cache', aliases: [], service: 'api-id' });
    expect(backend).toMatchObject({ serviceId: 'api-id', serviceName: 'api' });
    expect(store.service('api')?.backends.map((endpoint) => endpoint.sandboxName)).toEqual(['cache']);
    expect(store.services().map((listed) => listed.name)).toEqual(['api']);
  });

  it('give their VIPs back when removed', () => {
    const store = twoNodeStore();
    must(store, service({}));
    expect(must(store, { type: 'removeService', service: 'api' }).vips.map((vip) => vip.ip)).toEqual(['10.0.1.4']);
    expect(store.service('api')).toBeUndefined();
    must(store, { type: 'createSandbox', id: 'cache-id-0123456789', name: 'cache', node: 'node-a' });
    expect(must(store, { type: 'connect', endpointId: 'e1', network: 'front', sandbox: 'cache', ip: '10.0.1.4', aliases: [] }).ip).toBe('10.0.1.4');
  });

  it('refuse published ports on internal networks only, which give backends no way in, and change nothing', () => {
    const store = twoNodeStore();
    must(store, { type: 'createNetwork', id: 'inner-id', name: 'inner', driver: '', subnet: '10.0.3.0/24', internal: true });
    const before = store.snapshot();
    expect(store.apply(service({ networks: ['inner'], ports: [{ targetPort: 80, publishMode: 'host' }] }))).toEqual({
      ok: false,
      error: { code: 'FAILED_PRECONDITION', field: 'ports', message: expect.stringContaining('ports: the service\'s networks ("inner") are all --internal') },
    });
    expect(store.snapshot()).toEqual(before);
    expect(must(store, service({ networks: ['inner', 'front'], ports: [{ targetPort: 80 }] })).ports).toHaveLength(1);
    must(store, { type: 'createService', id: 'quiet-id', name: 'quiet', networks: ['inner'] });
    expect(store.apply({ type: 'updateService', service: 'quiet', publishAdd: [{ targetPort: 81 }] })).toMatchObject({
      ok: false,
      error: { code: 'FAILED_PRECONDITION', field: 'publish_add' },
    });
  });
});
