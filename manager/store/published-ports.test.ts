import type { Connect } from './commands';
import type { StoreSnapshot } from './state';
import { Store } from './store';
import { must, twoNodeStore } from './test-fixtures';

const cache = { type: 'createSandbox', id: 'cache-id-0123456789', name: 'cache', node: 'node-a' } as const;
const api = { type: 'createSandbox', id: 'api-id-0123456789', name: 'api', node: 'node-b' } as const;
const connect = (sandbox: string, publishedPorts: Connect['publishedPorts']): Connect => ({
  type: 'connect',
  endpointId: `ep-${sandbox}`,
  network: 'front',
  sandbox,
  aliases: [],
  publishedPorts,
});

describe('published ports of an endpoint', () => {
  it('are stored with tcp as the default protocol, and shown by the endpoint, its sandbox and its network', () => {
    const store = twoNodeStore();
    must(store, cache);
    const endpoint = must(store, connect('cache', [{ hostPort: 8080, port: 80 }, { protocol: 'udp', hostPort: 5353, port: 53 }]));
    const published = [
      { protocol: 'tcp', hostPort: 8080, port: 80 },
      { protocol: 'udp', hostPort: 5353, port: 53 },
    ];
    expect(endpoint.publishedPorts).toEqual(published);
    expect(store.sandbox('cache')?.endpoints[0]?.publishedPorts).toEqual(published);
    expect(store.network('front')?.endpoints.find((each) => each.sandboxName === 'cache')?.publishedPorts).toEqual(published);
    expect(store.sandbox('web')?.endpoints[0]?.publishedPorts).toEqual([]);
  });

  it('may reuse a host port on another node, or with the other protocol, and free it on disconnect', () => {
    const store = twoNodeStore();
    must(store, cache);
    must(store, api);
    must(store, { type: 'disconnect', network: 'front', sandbox: 'web' });
    must(store, connect('web', [{ hostPort: 8080, port: 80 }]));
    must(store, connect('api', [{ hostPort: 8080, port: 80 }]));
    must(store, connect('cache', [{ protocol: 'udp', hostPort: 8080, port: 80 }]));
    expect(store.apply(connect('cache', [{ hostPort: 8080, port: 80 }])).ok).toBe(false);

    must(store, { type: 'disconnect', network: 'front', sandbox: 'web' });
    must(store, { type: 'disconnect', network: 'front', sandbox: 'cache' });
    expect(must(store, connect('cache', [{ hostPort: 8080, port: 80 }])).publishedPorts).toEqual([{ protocol: 'tcp', hostPort: 8080, port: 80 }]);
  });

  it("refuses the gossip DHT's udp ports on every node, and leaves them free over tcp", () => {
    const store = twoNodeStore();
    must(store, cache);
    for (const port of [4790, 4791]) {
      const refused = store.apply(connect('cache', [{ protocol: 'udp', hostPort: port, port: 80 }]));
      expect(refused).toEqual(expect.objectContaining({ ok: false, error: expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'published_ports', message: expect.stringContaining(`${port}/udp is the gossip DHT port`) }) }));
    }
    expect(must(store, connect('cache', [{ protocol: 'tcp', hostPort: 4790, port: 80 }, { protocol: 'tcp', hostPort: 4791, port: 81 }])).publishedPorts).toHaveLength(2);
  });

  it('survive a snapshot, and records from before publishing existed load as publishing nothing', () => {
    const store = twoNodeStore();
    must(store, cache);
    must(store, connect('cache', [{ hostPort: 8080, port: 80 }]));
    must(store, { type: 'createNetwork', id: 'back-id', name: 'back', driver: '', subnet: '10.0.2.0/24' });
    const snapshot = JSON.parse(JSON.stringify(store.snapshot())) as StoreSnapshot;
    // Endpoints publishing nothing are stored as before the field existed.
    expect(snapshot.endpoints.filter((endpoint) => 'publishedPorts' in endpoint).map((endpoint) => endpoint.id)).toEqual(['ep-cache']);

    const restored = Store.restore(snapshot);

    expect(restored.sandboxes()).toEqual(store.sandboxes());
    expect(restored.sandbox('cache')?.endpoints[0]?.publishedPorts).toEqual([{ protocol: 'tcp', hostPort: 8080, port: 80 }]);
    expect(restored.sandbox('web')?.endpoints[0]?.publishedPorts).toEqual([]);
    // The restored store still knows the host port is taken on node-a.
    expect(restored.apply({ ...connect('web', [{ hostPort: 8080, port: 80 }]), network: 'back' })).toMatchObject({
      ok: false,
      error: { code: 'ALREADY_EXISTS', field: 'published_ports' },
    });
  });
});
